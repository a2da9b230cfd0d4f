"""POST /api/documents/from-url on a real server: a page from an allowed host is stored with
its URL and date; refused and failing URLs are clear 422s; only an admin key may ask."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingestion.embeddings import Embedder
from ingestion.sync import load_sources
from service.app import create_app
from service.settings import Settings
from service.sync import run_sync
from service.wiring import open_store
from tests.helpers import make_settings, serve_app
from tests.sync_site import Site, article

ADMIN_KEY = "admin-key-0123456789abcdef"
READ_KEY = "read-key-0123456789abcdef"


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as served:
        served.pages["/news/port.html"] = (
            "text/html",
            article("Port reopens", "The harbour reopened.", published="2026-11-01"),
        )
        yield served


def api_settings(data_dir: Path, **overrides: Any) -> Settings:
    return make_settings(
        data_dir,
        admin_api_keys=ADMIN_KEY,
        api_keys=READ_KEY,
        sync_allowed_hosts="127.0.0.1,10.0.0.1",
        sync_allowed_networks="127.0.0.1/32",
        sync_delay_seconds=0,
        sync_timeout_seconds=2,
        sync_max_page_bytes=1024 * 1024,
        **overrides,
    )


@pytest.fixture
def api(tmp_path: Path, embedder: Embedder, site: Site) -> Iterator[httpx.Client]:
    settings = api_settings(tmp_path / "data")
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=base_url, timeout=60, headers=headers) as client:
            yield client


def test_a_page_is_fetched_and_stored_once(api: httpx.Client, site: Site) -> None:
    url = site.url("/news/port.html")
    response = api.post("/api/documents/from-url", json={"url": url})
    assert response.status_code == 201, response.text
    document = response.json()["document"]
    assert document["document_id"] == f"127.0.0.1:{site.port}/news/port.html"
    assert (document["source"], document["published"]) == (url, "2026-11-01")
    again = api.post("/api/documents/from-url", json={"url": url})
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert again.json()["chunks_embedded"] == 0


@pytest.mark.parametrize(
    ("path_or_url", "code", "detail"),
    [
        ("http://example.org/a", "url_refused", "url: host 'example.org' is not on the allowlist"),
        ("file:///etc/passwd", "url_refused", "url: only http(s) URLs are fetched"),
        ("/to-private", "url_refused", "url: address 10.0.0.1 is private"),
        ("/bomb", "fetch_failed", "url: larger than 1048576 bytes once decompressed"),
        ("/missing", "fetch_failed", "url: HTTP 404"),
    ],
)
def test_refused_and_failing_urls_are_clear(
    api: httpx.Client, site: Site, path_or_url: str, code: str, detail: str
) -> None:
    url = site.url(path_or_url) if path_or_url.startswith("/") else path_or_url
    response = api.post("/api/documents/from-url", json={"url": url})
    assert response.status_code == 422
    assert response.json()["code"] == code and response.json()["detail"].startswith(detail)


def test_only_an_admin_key_may_ingest_a_url(api: httpx.Client, site: Site) -> None:
    url = site.url("/news/port.html")
    headers = {"Authorization": f"Bearer {READ_KEY}"}
    response = api.post("/api/documents/from-url", json={"url": url}, headers=headers)
    assert response.status_code == 403
    assert site.requests == []


def test_a_page_a_sync_source_holds_is_not_taken_by_an_upload(
    tmp_path: Path, embedder: Embedder, site: Site
) -> None:
    url = site.url("/news/port.html")
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "pages"\nurls = ["{url}"]\n')
    settings = api_settings(tmp_path / "data", sync_sources=sources)
    store = open_store(settings, embedder.name)
    [synced] = run_sync(settings, load_sources(sources), store, embedder)
    assert synced.report.new == 1
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        response = httpx.post(
            f"{base_url}/api/documents/from-url", json={"url": url}, headers=headers, timeout=60
        )
    assert response.status_code == 409
    assert "was stored by `citechat sync`" in response.json()["detail"]
