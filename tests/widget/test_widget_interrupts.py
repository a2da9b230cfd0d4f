"""Answers that break off: a stream cut before ``done``, and the reader pressing Stop.

The service runs in LLM mode against the test LLM stub, the one stand-in the tests may use, so
that an answer can fail half-way or wait as long as the test needs.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from tests.helpers import make_settings, serve_app
from tests.llm_stub import LLMStub, Reply
from tests.widget.chat_page import QUESTION, ChatWidget, sent_messages

ANSWER = "As of 23 May 2025 the US plans to withhold further funding [1] for the mission."


@pytest.fixture(scope="module")
def llm_site(sample_settings: Settings, embedder: Embedder) -> Iterator[tuple[str, LLMStub]]:
    stub = LLMStub().start()
    settings = make_settings(
        sample_settings.data_dir,
        llm_base_url=stub.url,
        llm_first_token_timeout=600.0,
        llm_deadline=600.0,
        llm_max_retries=0,
    )
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        try:
            yield base_url, stub
        finally:
            stub.stop()  # wakes a reply still held back, so the server can shut down


def test_a_stream_cut_before_done_shows_an_error_and_retry_recovers(
    page: Page, llm_site: tuple[str, LLMStub]
) -> None:
    site, stub = llm_site
    stub.script(Reply(f"{ANSWER} Then more words follow here.", break_after=17))
    stub.script(ANSWER)
    page.goto(f"{site}/")
    widget = ChatWidget(page)
    widget.open()
    reply = widget.ask(QUESTION)
    expect(reply).to_have_class("msg error")
    expect(reply).to_contain_text("could not finish the answer")

    with page.expect_request(f"{site}/api/chat") as retried:
        reply.get_by_role("button", name="Retry").click()
    assert sent_messages(retried.value) == [{"role": "user", "content": QUESTION}]
    answer = widget.replies.last
    expect(answer).to_have_class("msg bot")
    expect(answer.locator(".text")).to_have_text(ANSWER.replace("[1]", "1"))
    expect(answer.locator(".sources li")).to_have_count(1)
    expect(widget.log.locator(".msg.error")).to_have_count(0)


def test_stop_cancels_an_answer_still_on_its_way(page: Page, llm_site: tuple[str, LLMStub]) -> None:
    site, stub = llm_site
    stub.script(Reply(ANSWER, delay=600))  # held back until the test ends
    page.goto(f"{site}/")
    widget = ChatWidget(page)
    widget.open()
    widget.input.fill(QUESTION)
    widget.input.press("Enter")
    stop = widget.panel.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    expect(widget.panel.get_by_role("button", name="Send")).to_be_hidden()
    stop.click()

    reply = widget.replies.last
    expect(reply).to_contain_text("Stopped before an answer arrived.")
    expect(reply.get_by_role("button", name="Retry")).to_be_visible()
    expect(widget.panel.get_by_role("button", name="Send")).to_be_visible()
    assert widget.focused_id() == "cc-input"
