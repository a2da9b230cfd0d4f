"""Text from documents and questions never runs as code; other origins cannot read answers."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from tests.helpers import make_settings, run_ingest, serve_app
from tests.widget.chat_page import QUESTION, ChatWidget, embedding_page
from tests.widget.host_pages import HostPages

# Each payload sets window.__xss to say where it came from, if it ever runs.
HOSTILE_DOCUMENT = """---
title: "Ferry timetable <img src=x onerror=\\"window.__xss='title'\\">"
source: "javascript:window.__xss='source'"
published: 2025-03-01
---
The harbour council approved a new ferry timetable <img src=x onerror="window.__xss='body'">
on Monday. The ferry to Ile-a-Vache will now run every two hours
<script>window.__xss='script'</script>, the council said.
"""
HOSTILE_QUESTION = (
    "How often will the ferry to Ile-a-Vache run? "
    "<img src=x onerror=\"window.__xss='question'\"><b>now</b>"
)

FETCH_ANSWER = """async ([url, question]) => {
    try {
        const response = await fetch(url + "/api/chat", {
            method: "POST",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({messages: [{role: "user", content: question}], stream: false}),
        });
        return (await response.json()).answer;
    } catch (error) {
        return "blocked: " + error.name;
    }
}"""

FETCH_SEARCH = """async (url) => {
    try {
        return JSON.stringify(await (await fetch(url + "/api/search?q=Haiti")).json());
    } catch (error) {
        return "blocked: " + error.name;
    }
}"""


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """The service on an index whose only document carries HTML and script payloads."""
    corpus = tmp_path_factory.mktemp("hostile-corpus")
    (corpus / "ferry.txt").write_text(HOSTILE_DOCUMENT)  # text: stored as is, HTML and all
    settings = make_settings(tmp_path_factory.mktemp("hostile") / "data")
    assert run_ingest(settings, embedder, [corpus]).new == 1
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def guarded_site(
    sample_settings: Settings, embedder: Embedder, host_pages: HostPages
) -> Iterator[str]:
    """The service allowing only the host site's ``localhost`` origin, not its ``127.0.0.1`` one."""
    origins = [f"http://localhost:{host_pages.port}"]
    settings = sample_settings.model_copy(update={"allowed_origins": origins})
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        yield base_url


def test_html_in_documents_and_questions_is_shown_as_text(page: Page, hostile_site: str) -> None:
    page.goto(f"{hostile_site}/")
    widget = ChatWidget(page)
    widget.open()
    reply = widget.ask(HOSTILE_QUESTION)
    for details in reply.locator("details").all():
        details.click()
    page.wait_for_load_state("networkidle")  # an injected <img src=x> would have failed by now

    assert page.evaluate("window.__xss") is None
    shadow_tags = page.evaluate(
        """() => [...document.querySelector("citechat-widget").shadowRoot
                .querySelectorAll("img, script, b")].map((e) => e.tagName)"""
    )
    assert shadow_tags == []
    expect(widget.log).to_contain_text("<img src=x onerror=\"window.__xss='question'\"><b>now</b>")
    source = reply.locator(".sources li").first
    expect(source).to_contain_text("Ferry timetable <img src=x onerror=")
    expect(source.locator("blockquote").first).to_contain_text(
        "<img src=x onerror=\"window.__xss='body'\">"
    )
    assert source.locator("a").count() == 0  # a javascript: source is not made a link


def test_a_page_on_an_allowed_origin_reads_answers(
    page: Page, guarded_site: str, host_pages: HostPages
) -> None:
    host_pages.add("/guarded.html", embedding_page(f"{guarded_site}/widget.js"))
    page.goto(host_pages.url("/guarded.html", host="localhost"))
    widget = ChatWidget(page)
    widget.open()
    reply = widget.ask(QUESTION)
    expect(reply.locator(".sources a").first).to_be_visible()
    assert not page.evaluate(FETCH_ANSWER, [guarded_site, QUESTION]).startswith("blocked")
    assert not page.evaluate(FETCH_SEARCH, guarded_site).startswith("blocked")


def test_a_page_on_another_origin_cannot_read_answers(
    page: Page, guarded_site: str, host_pages: HostPages
) -> None:
    host_pages.add("/guarded.html", embedding_page(f"{guarded_site}/widget.js"))
    page.goto(host_pages.url("/guarded.html", host="127.0.0.1"))
    widget = ChatWidget(page)
    widget.open()
    reply = widget.ask(QUESTION)
    expect(reply).to_have_class("msg error")
    expect(reply).to_contain_text("Cannot reach the chat service")
    assert widget.log.locator(".sources").count() == 0
    assert page.evaluate(FETCH_ANSWER, [guarded_site, QUESTION]) == "blocked: TypeError"
    assert page.evaluate(FETCH_SEARCH, guarded_site) == "blocked: TypeError"
