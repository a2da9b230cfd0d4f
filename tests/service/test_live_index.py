"""A running server follows the store: new files are found, deleted ones no longer cited,
and a re-ingest under load gives no server error. On disk and on a Chroma server."""

import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from service.wiring import open_store
from tests.helpers import copy_corpus, make_settings, run_ingest, serve_app, serve_process

MAY = "2025-05-23-us-signals-end-of-haiti-mission-funding.md"
FUNDING_QUESTION = "Is the US still funding the Haiti mission?"
ZEBRAFISH = "Zebrafish were found in the harbour of Port-au-Prince on Tuesday, officials said."
REFRESH_SECONDS = 0.5
DEADLINE_SECONDS = 30.0  # the refresh period plus a BM25 build, on a busy machine


def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait until ``check()`` holds; fail after DEADLINE_SECONDS."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE_SECONDS} s: {what}")
        time.sleep(0.2)


def search_ids(base_url: str, query: str) -> list[str]:
    response = httpx.get(f"{base_url}/api/search", params={"q": query, "k": 10}, timeout=30)
    assert response.status_code == 200, response.text
    return [result["document_id"] for result in response.json()["results"]]


def finds_first(base_url: str, query: str, document_id: str) -> bool:
    return search_ids(base_url, query)[:1] == [document_id]


def does_not_cite(base_url: str, question: str, document_id: str) -> bool:
    return document_id not in chat_cites(base_url, question)


def chat_cites(base_url: str, question: str) -> set[str]:
    body = {"messages": [{"role": "user", "content": question}]}
    response = httpx.post(f"{base_url}/api/chat", json=body, timeout=30)
    assert response.status_code == 200, response.text
    reply = response.json()
    return {c["document_id"] for c in reply["citations"]} | {
        r["document_id"] for r in reply["retrieved"]
    }


def delete_document(settings: Settings, embedder: Embedder, document_id: str) -> None:
    store = open_store(settings, embedder.name)
    store.delete_document(document_id)
    store.bump_revision()


def check_follows_ingests(
    base_urls: list[str], settings: Settings, embedder: Embedder, corpus: Path
) -> None:
    """New file found, deleted file gone, on every server, with /readyz ready throughout."""
    for base_url in base_urls:
        assert "z.md" not in search_ids(base_url, "zebrafish harbour")
        assert MAY in chat_cites(base_url, FUNDING_QUESTION)

    (corpus / "z.md").write_text(ZEBRAFISH)
    run_ingest(settings, embedder, [corpus])
    for base_url in base_urls:
        eventually(partial(finds_first, base_url, "zebrafish harbour", "z.md"), "found")
        assert httpx.get(f"{base_url}/readyz").json() == {"status": "ready"}

    delete_document(settings, embedder, MAY)
    for base_url in base_urls:
        eventually(partial(does_not_cite, base_url, FUNDING_QUESTION, MAY), "not cited")
        assert MAY not in search_ids(base_url, "US signals end of Haiti mission funding")
        assert httpx.get(f"{base_url}/readyz").json() == {"status": "ready"}


@pytest.fixture
def disk_settings(tmp_path: Path, embedder: Embedder) -> Settings:
    settings = make_settings(tmp_path / "data", index_refresh_seconds=REFRESH_SECONDS)
    run_ingest(settings, embedder, [copy_corpus(tmp_path / "corpus")])
    return settings


def test_a_server_on_disk_follows_another_process_s_ingests(
    tmp_path: Path, disk_settings: Settings, embedder: Embedder
) -> None:
    with serve_process(disk_settings) as base_url:
        check_follows_ingests([base_url], disk_settings, embedder, tmp_path / "corpus")


def test_two_replicas_on_a_chroma_server_follow_ingests(
    tmp_path: Path, embedder: Embedder, chroma_address: tuple[str, int]
) -> None:
    host, port = chroma_address
    settings = make_settings(
        tmp_path / "data",
        chroma_host=host,
        chroma_port=port,
        collection="live-replicas",
        index_refresh_seconds=REFRESH_SECONDS,
    )
    corpus = copy_corpus(tmp_path / "corpus")
    run_ingest(settings, embedder, [corpus])
    with (
        serve_app(create_app(settings, embedder=embedder)) as first,
        serve_app(create_app(settings, embedder=embedder)) as second,
    ):
        check_follows_ingests([first, second], settings, embedder, corpus)


@pytest.fixture
def hammered(disk_settings: Settings) -> Iterator[tuple[str, list[int]]]:
    """A server on disk under a steady stream of searches and chats; yields the statuses."""
    statuses: list[int] = []
    stop = threading.Event()

    def client(path: str, **request: Any) -> None:
        with httpx.Client(timeout=60) as http:
            while not stop.is_set():
                response = http.request("POST" if "json" in request else "GET", path, **request)
                statuses.append(response.status_code)

    with serve_process(disk_settings) as base_url:
        threads = [
            threading.Thread(
                target=client, args=(f"{base_url}/api/search",), kwargs={"params": {"q": query}}
            )
            for query in ("Haiti mission funding", "Kenya police officers")
        ]
        chat = {"messages": [{"role": "user", "content": FUNDING_QUESTION}]}
        threads.append(
            threading.Thread(target=client, args=(f"{base_url}/api/chat",), kwargs={"json": chat})
        )
        for thread in threads:
            thread.start()
        try:
            yield base_url, statuses
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)


def test_no_server_error_while_a_file_is_re_ingested_and_deleted(
    tmp_path: Path, disk_settings: Settings, embedder: Embedder, hammered: tuple[str, list[int]]
) -> None:
    base_url, statuses = hammered
    corpus = tmp_path / "corpus"
    article = corpus / MAY
    for round_ in range(2):
        article.write_text(article.read_text() + f"\n\nUpdate {round_}: the zebrafish left.\n")
        run_ingest(settings=disk_settings, embedder=embedder, paths=[corpus])
        time.sleep(2 * REFRESH_SECONDS)
    delete_document(disk_settings, embedder, MAY)
    eventually(lambda: MAY not in search_ids(base_url, "Haiti mission funding"), "delete seen")

    assert len(statuses) > 20
    assert [s for s in statuses if s != 200] == []
