from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from tests.helpers import SAMPLE_CORPUS, free_port, make_settings, run_ingest, serve_app

MAY = "2025-05-23-us-signals-end-of-haiti-mission-funding.md"


@pytest.fixture(scope="module")
def api(sample_settings: Settings, embedder: Embedder) -> Iterator[httpx.Client]:
    with serve_app(create_app(sample_settings, embedder=embedder)) as base_url:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            yield client


def test_search_returns_cited_passages_best_first(api: httpx.Client) -> None:
    response = api.get("/api/search", params={"q": "US withholds further funding", "k": 3})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3
    assert results[0]["document_id"] == MAY
    assert results[0]["published"] == "2025-05-23"
    assert results[0]["source"].startswith("https://")
    assert set(results[0]) == {
        "document_id",
        "title",
        "source",
        "published",
        "text",
        "chunk_id",
        "score",
    }
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)


def test_search_finds_an_exact_term_that_only_bm25_ranks_first(api: httpx.Client) -> None:
    results = api.get("/api/search", params={"q": "Feinstein", "k": 1}).json()["results"]
    assert "Barbara Feinstein" in results[0]["text"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "q: must not be empty"),
        ({"q": "   "}, "q: must not be empty"),
        ({"q": "x" * 2001}, "q: at most 2000 characters"),
        ({"q": "haiti", "k": 0}, "k: Input should be greater than or equal to 1"),
        ({"q": "haiti", "k": 51}, "k: Input should be less than or equal to 50"),
        ({"q": "haiti", "k": "ten"}, "k: Input should be a valid integer"),
        ({}, "q: Field required"),
    ],
)
def test_bad_search_parameters_are_422_with_a_clear_message(
    api: httpx.Client, params: dict[str, str | int], message: str
) -> None:
    response = api.get("/api/search", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    assert message in body["detail"]


def test_a_query_of_undecodable_bytes_is_not_a_server_error(api: httpx.Client) -> None:
    response = api.get("/api/search?q=%ED%A0%80%FF")
    assert response.status_code == 200


def test_documents_lists_metadata_and_chunk_counts(api: httpx.Client) -> None:
    documents = api.get("/api/documents").json()["documents"]
    assert [d["published"] for d in documents] == ["2023-09-23", "2025-02-07", "2025-05-23"]
    assert all(d["chunks"] >= 1 and d["title"] and d["source"] for d in documents)


def test_health_readiness_and_openapi(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").json() == {"status": "ready"}
    assert "/api/search" in api.get("/openapi.json").json()["paths"]
    assert api.get("/docs").status_code == 200


def test_unknown_route_is_a_json_404(api: httpx.Client) -> None:
    response = api.get("/api/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "http_error"


def test_unreachable_store_is_503_not_500(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=free_port())
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        assert httpx.get(f"{base_url}/healthz").status_code == 200
        for path in ("/readyz", "/api/search?q=haiti", "/api/documents"):
            response = httpx.get(f"{base_url}{path}", timeout=30)
            assert response.status_code == 503, path
            assert response.json() == {  # the store's address is logged, not shown
                "code": "store_unavailable",
                "detail": "the vector store is unavailable",
            }


def test_search_through_a_chroma_server(
    tmp_path: Path, embedder: Embedder, chroma_address: tuple[str, int]
) -> None:
    host, port = chroma_address
    settings = make_settings(tmp_path, chroma_host=host, chroma_port=port, collection="api-test")
    run_ingest(settings, embedder, [SAMPLE_CORPUS])
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        response = httpx.get(f"{base_url}/api/search", params={"q": "Ruto phone call with Rubio"})
        assert response.status_code == 200
        top = response.json()["results"][0]
        assert top["document_id"] == "2025-02-07-us-exempts-haiti-mission-from-aid-freeze.md"
        assert httpx.get(f"{base_url}/readyz").status_code == 200


def test_new_documents_become_searchable_without_restart(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(tmp_path / "data")
    run_ingest(settings, embedder, [SAMPLE_CORPUS])
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        assert "zebrafish" not in httpx.get(f"{base_url}/api/search?q=zebrafish").text
        extra = tmp_path / "extra"
        extra.mkdir()
        (extra / "z.md").write_text("Zebrafish were found in the harbour of Port-au-Prince.")
        run_ingest(settings, embedder, [extra])
        top = httpx.get(f"{base_url}/api/search?q=zebrafish").json()["results"][0]
        assert top["document_id"] == "z.md"
