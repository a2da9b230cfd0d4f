"""The demo page end to end: a reader asks, follows up, navigates and starts over."""

import json
import re
from pathlib import Path

from playwright.sync_api import Page, Response, expect

from tests.helpers import SAMPLE_CORPUS
from tests.widget.chat_page import (
    MAY_SOURCE,
    QUESTION,
    ChatWidget,
    embedding_page,
    sent_filters,
    sent_messages,
)
from tests.widget.host_pages import HostPages

DATE = re.compile(
    r"\b\d{1,2} (January|February|March|April|May|June|July|August|September|October"
    r"|November|December) \d{4}\b"
)
MAY_ARTICLE = SAMPLE_CORPUS / "2025-05-23-us-signals-end-of-haiti-mission-funding.md"
FOLLOW_UP = "And in February 2025?"

# Records what the reader saw while an answer was on its way. Mutation records are delivered
# before the widget reads the next event, so each intermediate state is seen.
WATCH_STREAM = """() => {
    const shadow = document.querySelector("citechat-widget").shadowRoot;
    window.seen = {typing: false, stop: false, partialTexts: 0};
    new MutationObserver(() => {
        if (shadow.querySelector(".typing")) window.seen.typing = true;
        if (!shadow.querySelector(".stop").hidden) window.seen.stop = true;
        const streaming = shadow.querySelector(".msg.bot[aria-busy] .text");
        if (streaming && streaming.textContent) window.seen.partialTexts += 1;
    }).observe(shadow, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def streamed_answer(response: Response) -> str:
    """The answer text carried by the ``delta`` events of an SSE response."""
    events = response.text().replace("\r\n", "\n").split("\n\n")
    parts = []
    for event in events:
        lines = event.split("\n")
        if "event: delta" in lines:
            data = "\n".join(
                line.removeprefix("data: ") for line in lines if line.startswith("data:")
            )
            parts.append(json.loads(data)["text"])
    return "".join(parts)


def normalise(text: str) -> str:
    return " ".join(text.split())


def test_demo_page_streams_a_dated_cited_answer_and_a_follow_up(
    page: Page, site: str, screenshots: Path
) -> None:
    page.goto(f"{site}/")
    widget = ChatWidget(page)
    widget.open()
    page.evaluate(WATCH_STREAM)
    with page.expect_request(f"{site}/api/chat") as first:
        answer = widget.ask(QUESTION)
    assert first.value.post_data_json == {
        "messages": [{"role": "user", "content": QUESTION}],
        "stream": True,
    }
    response = first.value.response()
    assert response is not None
    assert response.headers["content-type"].startswith("text/event-stream")
    seen = page.evaluate("window.seen")
    assert seen["typing"] and seen["stop"] and seen["partialTexts"] >= 1

    text = answer.locator(".text").text_content()
    assert text and DATE.search(text), text
    raw_answer = streamed_answer(response)
    assert text == re.sub(r"\[(\d+)\]", r"\1", raw_answer)  # each [n] became a marker link

    may = answer.locator(".sources li", has=page.locator(f'a[href="{MAY_SOURCE}"]'))
    link = may.get_by_role("link")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(may.locator("time")).to_have_attribute("datetime", "2025-05-23")
    expect(may.locator("time")).to_have_text("23 May 2025")
    widget.log.locator(".msg.user").last.evaluate("e => e.scrollIntoView({block: 'start'})")
    header = widget.panel.locator("header").bounding_box()
    panel = widget.panel.bounding_box()
    assert header and panel and 0 <= header["y"] - panel["y"] <= 1  # only the log scrolled
    page.screenshot(path=screenshots / "desktop-answer.png")

    number = may.locator(".num").first.inner_text()
    answer.get_by_role("button", name=re.compile(rf"^Source {number}: ")).first.click()
    quotes = may.locator("blockquote")
    expect(quotes.first).to_be_visible()
    for quote in quotes.all():
        assert normalise(quote.inner_text()) in normalise(MAY_ARTICLE.read_text())
    page.screenshot(path=screenshots / "desktop-answer-quote.png")

    with page.expect_request(f"{site}/api/chat") as second:
        follow_up = widget.ask(FOLLOW_UP)
    assert sent_messages(second.value) == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": raw_answer},
        {"role": "user", "content": FOLLOW_UP},
    ]
    expect(follow_up.locator(".text")).to_contain_text("February 2025")
    expect(follow_up.locator("time").first).to_be_visible()
    page.screenshot(path=screenshots / "desktop-follow-up.png")


def test_conversation_survives_navigation_until_a_new_chat(page: Page, site: str) -> None:
    page.goto(f"{site}/")
    widget = ChatWidget(page)
    widget.open()
    widget.ask(QUESTION)
    page.reload()
    expect(widget.panel).to_be_visible()  # it was open: it stays open
    expect(widget.log.locator(".msg.user")).to_have_text(["You: " + QUESTION])
    expect(widget.replies.locator(f'.sources a[href="{MAY_SOURCE}"]')).to_be_visible()

    widget.panel.get_by_role("button", name="New chat").click()
    expect(widget.log.locator(".msg")).to_have_count(0)
    assert widget.focused_id() == "cc-input"
    page.reload()
    expect(widget.log).to_contain_text("Ask a question about the articles")
    expect(widget.log.locator(".msg")).to_have_count(0)


def test_keyboard_only_use_with_aria_roles(page: Page, site: str) -> None:
    page.goto(f"{site}/")
    widget = ChatWidget(page)
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    widget.launcher.focus()
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.log).to_have_attribute("aria-live", "polite")
    assert widget.focused_id() == "cc-input"

    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    expect(widget.input).to_have_value("first line\nsecond line")
    expect(widget.log.locator(".msg")).to_have_count(0)  # Shift+Enter did not send

    page.keyboard.press("Tab")
    assert widget.focused_id() == "send"
    outline = widget.panel.get_by_role("button", name="Send").evaluate(
        "e => getComputedStyle(e).outlineStyle"
    )
    assert outline == "solid"  # the focus is visible

    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    assert widget.focused_id() == "launcher"


def test_an_answer_not_in_the_documents_looks_different(page: Page, site: str) -> None:
    page.goto(f"{site}/")
    widget = ChatWidget(page)
    widget.open()
    answered = widget.ask(QUESTION)
    unanswered = widget.ask("What is the population of Mongolia?")
    expect(unanswered).to_have_class("msg bot unanswered")
    expect(unanswered.locator(".label")).to_have_text("Not found in the articles")
    style = "e => getComputedStyle(e).borderStyle + ' ' + getComputedStyle(e).backgroundColor"
    assert unanswered.evaluate(style) != answered.evaluate(style)


def test_filter_attributes_are_sent_with_every_question_and_bound_the_answer(
    page: Page, site: str, host_pages: HostPages
) -> None:
    attributes = (
        "data-published-after='2023-01-01' data-published-before='2024-12-31' "
        "data-source-host='www.kenyans.co.ke, odrimedia.co.ke'"
    )
    host_pages.add("/filtered.html", embedding_page(f"{site}/widget.js", attributes=attributes))
    page.goto(host_pages.url("/filtered.html"))
    widget = ChatWidget(page)
    widget.open()

    with page.expect_response(f"{site}/api/chat") as first:
        answer = widget.ask(QUESTION)

    sent = sent_filters(first.value.request)
    assert sent == {
        "published_after": "2023-01-01",
        "published_before": "2024-12-31",
        "source_hosts": ["www.kenyans.co.ke", "odrimedia.co.ke"],
    }
    expect(answer.locator(".sources a").first).to_be_visible()
    links = answer.locator(".sources a").evaluate_all("links => links.map(a => a.href)")
    assert links and all("kenyans.co.ke" in link for link in links)  # the only one admitted
    assert MAY_SOURCE not in links
    with page.expect_request(f"{site}/api/chat") as second:
        widget.ask("How much did it offer?")
    assert sent_filters(second.value) == sent
