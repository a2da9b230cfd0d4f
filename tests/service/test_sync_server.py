"""A running `citechat serve` that syncs a local site on its own schedule serves the new
articles it finds, and reports each source's last run in /api/sources and /metrics."""

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ingestion.embeddings import Embedder
from ingestion.sync import load_sources
from service.sync import run_sync
from service.wiring import open_store
from tests.helpers import make_settings, metric, serve_process
from tests.sync_site import Site, article, rss

DEADLINE_SECONDS = 120.0  # a sync process loads the model first, on a busy shared machine


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE_SECONDS} s: {what}")
        time.sleep(0.5)


def cites(base_url: str, question: str, document_id: str) -> bool:
    body = {"messages": [{"role": "user", "content": question}]}
    response = httpx.post(f"{base_url}/api/chat", json=body, timeout=30)
    assert response.status_code == 200, response.text
    reply = response.json()
    cited = {c["document_id"] for c in reply["citations"]}
    return document_id in cited | {r["document_id"] for r in reply["retrieved"]}


def test_a_server_syncs_on_its_schedule_and_answers_from_new_articles(
    tmp_path: Path, embedder: Embedder
) -> None:
    with Site() as site:
        site.pages["/news/port.html"] = (
            "text/html",
            article("Port reopens", "The harbour of Saint-Marc reopened after three weeks."),
        )
        site.pages["/feed.xml"] = rss([site.url("/news/port.html")])
        sources = tmp_path / "sources.toml"
        sources.write_text(f'[[source]]\nname = "daily"\nfeed = "{site.url("/feed.xml")}"\n')
        settings = make_settings(
            tmp_path / "data",
            sync_sources=sources,
            sync_interval_minutes=0.01,
            sync_allowed_networks="127.0.0.1/32",
            sync_delay_seconds=0,
            index_refresh_seconds=0.5,
        )
        host = f"127.0.0.1:{site.port}"
        # A first sync before the server starts: a server on disk that queried an empty
        # collection does not see another process's first writes (a Chroma limitation).
        [first] = run_sync(
            settings, load_sources(sources), open_store(settings, embedder.name), embedder
        )
        assert first.report.new == 1
        with serve_process(settings) as base_url:
            eventually(
                lambda: cites(base_url, "When did the harbour reopen?", f"{host}/news/port.html"),
                "the first article answers",
            )
            site.pages["/news/zebra.html"] = (
                "text/html",
                article("Zebrafish", "Zebrafish were found in the harbour of Jacmel on Tuesday."),
            )
            site.pages["/feed.xml"] = rss(
                [site.url(p) for p in ("/news/port.html", "/news/zebra.html")]
            )
            eventually(
                lambda: cites(base_url, "Where were zebrafish found?", f"{host}/news/zebra.html"),
                "the new article answers",
            )
            listed = httpx.get(f"{base_url}/api/sources", timeout=30).json()
            with httpx.Client(base_url=base_url, timeout=30) as client:
                ok = metric(client, "citechat_sync_last_run_ok", source="daily")
                listed_pages = metric(
                    client, "citechat_sync_last_run_pages", source="daily", outcome="listed"
                )
    [source] = listed["sources"]
    assert source["name"] == "daily" and source["kind"] == "feed"
    assert source["last_run"]["ok"] and source["last_run"]["listed"] == 2
    assert listed["interval_minutes"] == 0.01
    assert ok == 1 and listed_pages == 2
