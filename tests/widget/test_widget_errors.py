"""Failures show a clear message with a Retry button, never a blank panel."""

import httpx
from playwright.sync_api import Page, expect

from tests.helpers import free_port
from tests.widget.chat_page import QUESTION, ChatWidget, embedding_page, sent_messages
from tests.widget.host_pages import HostPages


def test_service_down_shows_an_error_and_retry_sends_again(
    page: Page, site: str, host_pages: HostPages
) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    host_pages.add(
        "/down.html", embedding_page(f"{site}/widget.js", attributes=f"data-api='{down}'")
    )
    page.goto(host_pages.url("/down.html"))
    widget = ChatWidget(page)
    widget.open()
    with page.expect_request(f"{down}/api/chat"):
        reply = widget.ask(QUESTION)
    expect(reply).to_have_class("msg error")
    expect(reply).to_have_attribute("role", "alert")
    expect(reply).to_contain_text("Cannot reach the chat service")

    with page.expect_request(f"{down}/api/chat"):
        reply.get_by_role("button", name="Retry").click()
    expect(widget.replies).to_have_count(1)
    expect(widget.replies.last.get_by_role("button", name="Retry")).to_be_visible()
    expect(widget.log.locator(".msg.user")).to_have_text(["You: " + QUESTION])


def test_a_rejected_question_shows_the_service_detail(page: Page, site: str) -> None:
    too_long = ("Is the US still funding the mission? " * 60).strip()
    direct = httpx.post(
        f"{site}/api/chat", json={"messages": [{"role": "user", "content": too_long}]}
    )
    assert direct.status_code == 422

    page.goto(f"{site}/")
    widget = ChatWidget(page)
    widget.open()
    reply = widget.ask(too_long)
    expect(reply).to_have_class("msg error")
    expect(reply).to_contain_text(direct.json()["detail"])
    expect(reply).to_contain_text("HTTP 422")
    expect(reply.get_by_role("button", name="Retry")).to_be_visible()

    # A new question replaces the rejected one, in the panel and in the history sent.
    with page.expect_request(f"{site}/api/chat") as request:
        answer = widget.ask(QUESTION)
    assert sent_messages(request.value) == [{"role": "user", "content": QUESTION}]
    expect(answer).to_have_class("msg bot")
    expect(widget.log.locator(".msg.user")).to_have_text(["You: " + QUESTION])
