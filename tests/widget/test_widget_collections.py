"""The widget's `data-collection`: its questions go to that collection, and a page whose
origin is bound to another collection is told so."""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from ingestion.embeddings import Embedder
from service.app import create_app
from tests.helpers import make_settings, serve_app
from tests.service.test_collections import NEWS_TEXT, SPORT_TEXT, STADIUM
from tests.widget.chat_page import ChatWidget, embedding_page
from tests.widget.host_pages import HostPages

ADMIN_KEY = "admin-key-0123456789abcdef"
QUESTION = "Who will play in the new harbour stadium?"


@pytest.fixture(scope="module")
def two_collections(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, host_pages: HostPages
) -> Iterator[str]:
    """The service with the stadium story in `news` and `sport`; the host pages' origin is
    bound to `sport`."""
    host_origin = f"http://127.0.0.1:{host_pages.port}"
    settings = make_settings(
        Path(tmp_path_factory.mktemp("widget-collections")) / "data",
        admin_api_keys=ADMIN_KEY,
        collection_access=json.dumps({"sport": {"origins": [host_origin]}}),
    )
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        for name, text in (("news", NEWS_TEXT), ("sport", SPORT_TEXT)):
            files = {"file": (STADIUM, text.encode())}
            url = f"{base_url}/api/documents?collection={name}"
            assert httpx.post(url, files=files, headers=admin, timeout=60).status_code == 201
        yield base_url


def test_the_widget_asks_the_collection_its_tag_names(
    page: Page, two_collections: str, host_pages: HostPages
) -> None:
    script = f"{two_collections}/widget.js"
    host_pages.add("/sport.html", embedding_page(script, attributes="data-collection='sport'"))
    page.goto(host_pages.url("/sport.html"))
    widget = ChatWidget(page)
    widget.open()
    with page.expect_request(f"{two_collections}/api/chat?collection=sport"):
        reply = widget.ask(QUESTION)
    expect(reply).to_contain_text("Harbour FC")
    assert "41,000" not in reply.inner_text()
    expect(reply.locator("a, li").first).to_be_visible()


def test_a_page_bound_to_another_collection_is_refused(
    page: Page, two_collections: str, host_pages: HostPages
) -> None:
    script = f"{two_collections}/widget.js"
    host_pages.add("/news.html", embedding_page(script, attributes="data-collection='news'"))
    page.goto(host_pages.url("/news.html"))
    widget = ChatWidget(page)
    widget.open()
    reply = widget.ask(QUESTION)
    expect(reply).to_contain_text("collection 'news' is not open to this API key or page origin")
    expect(reply).to_contain_text("HTTP 403")
