"""Long conversations and rate limits: the widget keeps working and says what is going on."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from tests.helpers import make_settings, serve_app
from tests.widget.chat_page import QUESTION, ChatWidget, embedding_page, sent_messages
from tests.widget.host_pages import HostPages

QUESTIONS = [
    QUESTION,
    "And in February 2025?",
    "How much did the US pledge in 2023?",
    "Who leads the mission?",
    "What did Kenya offer?",
    "Is the mission still funded?",
]


@pytest.fixture
def limited_site(sample_settings: Settings, embedder: Embedder) -> Iterator[str]:
    """The service allowing one question per minute per client."""
    settings = make_settings(sample_settings.data_dir, rate_limit="1/minute")
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        yield base_url


def test_a_conversation_of_twelve_questions_keeps_working(page: Page, site: str) -> None:
    """The service accepts 20 messages: the widget sends the question with recent turns only."""
    page.goto(f"{site}/")
    widget = ChatWidget(page)
    widget.open()
    sent: list[list[dict[str, str]]] = []
    for question in QUESTIONS * 2:
        with page.expect_request(f"{site}/api/chat") as request:
            reply = widget.ask(question)
        expect(reply).to_have_class(re.compile(r"^msg bot\b"))  # an answer or an abstention
        sent.append(sent_messages(request.value))

    assert len(widget.log.locator(".msg.user").all()) == 12
    assert [len(messages) for messages in sent] == [1, 3, 5, 7, 9] + [9] * 7
    last = sent[-1]
    assert last[0] == {"role": "user", "content": (QUESTIONS * 2)[-5]}  # 4 exchanges back
    assert last[-1] == {"role": "user", "content": QUESTIONS[-1]}


def test_a_rate_limited_question_says_how_long_to_wait(
    page: Page, limited_site: str, host_pages: HostPages
) -> None:
    """From another site's page: the 429 and its Retry-After are readable across origins."""
    host_pages.add("/limited.html", embedding_page(f"{limited_site}/widget.js"))
    page.goto(host_pages.url("/limited.html"))
    widget = ChatWidget(page)
    widget.open()
    expect(widget.ask(QUESTION)).to_have_class("msg bot")

    refused = widget.ask("And in February 2025?")

    expect(refused).to_have_class("msg error")
    expect(refused).to_contain_text(
        re.compile(r"^Too many questions in a short time\. Please wait \d+ seconds?, then retry\.")
    )
    expect(refused.get_by_role("button", name="Retry")).to_be_visible()
