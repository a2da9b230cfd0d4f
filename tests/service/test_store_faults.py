"""A frozen or failing store gives fast 503s; a bug behind the store is a logged 500."""

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingestion.embeddings import Embedder
from ingestion.store import ChunkStore
from service.app import create_app
from tests.helpers import SAMPLE_CORPUS, chroma_process, make_settings, run_ingest, serve_app

STORE_TIMEOUT = 1.0
# Far above STORE_TIMEOUT, far below the hang it replaces (chromadb's client never times out).
CLIENT_TIMEOUT = 30.0
REQUESTS = [
    ("GET", "/readyz", None),
    ("GET", "/api/search?q=haiti", None),
    ("POST", "/api/chat", {"messages": [{"role": "user", "content": "Who funds the mission?"}]}),
    ("GET", "/api/documents", None),
]


@pytest.fixture
def frozen_store_server(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[str, int]]:
    """An API server over a Chroma server of its own; yields its URL and Chroma's pid."""
    with chroma_process(tmp_path / "chroma") as (chroma, port):
        settings = make_settings(
            tmp_path / "data",
            chroma_host="127.0.0.1",
            chroma_port=port,
            store_timeout=STORE_TIMEOUT,
        )
        run_ingest(settings, embedder, [SAMPLE_CORPUS])
        with serve_app(create_app(settings, embedder=embedder)) as base_url:
            yield base_url, chroma.pid


def send(client: httpx.Client, method: str, path: str, body: object) -> httpx.Response:
    return client.request(method, path, json=body)


def test_a_frozen_chroma_server_gives_503s_within_the_timeout_then_recovers(
    frozen_store_server: tuple[str, int],
) -> None:
    base_url, chroma_pid = frozen_store_server
    with httpx.Client(base_url=base_url, timeout=CLIENT_TIMEOUT) as client:
        for method, path, body in REQUESTS:
            assert send(client, method, path, body).status_code == 200, path

        os.kill(chroma_pid, signal.SIGSTOP)
        try:
            for method, path, body in REQUESTS:
                response = send(client, method, path, body)
                assert response.status_code == 503, path
                assert response.json() == {
                    "code": "store_unavailable",
                    "detail": "the vector store is unavailable",
                }
        finally:
            os.kill(chroma_pid, signal.SIGCONT)

        for method, path, body in REQUESTS:
            assert send(client, method, path, body).status_code == 200, path


def test_a_bug_behind_the_store_is_a_500_not_a_503(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(tmp_path / "data")
    run_ingest(settings, embedder, [SAMPLE_CORPUS])

    def broken(self: ChunkStore) -> object:
        raise KeyError("document_id")  # a bug, not an outage

    monkeypatch.setattr(ChunkStore, "documents", broken)
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        response = httpx.get(f"{base_url}/api/documents", timeout=CLIENT_TIMEOUT)
        assert response.status_code == 500
        assert response.json()["code"] == "internal_error"
        assert httpx.get(f"{base_url}/readyz").status_code == 200  # the store itself is fine
