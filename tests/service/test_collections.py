"""Collections over HTTP, /v1 and the CLI: each answers from its own documents only, keys and
origins bound to collections get 403 elsewhere, deletes stay inside the collection named."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ingestion.embeddings import Embedder
from service.app import create_app
from service.cli import app as cli
from service.wiring import Collections
from tests.helpers import make_settings, run_ingest, serve_app, serve_process

ADMIN_KEY = "admin-key-0123456789abcdef"
NEWS_KEY = "news-key-0123456789abcdef"
OPEN_KEY = "open-key-0123456789abcdef"
SPORT_SITE = "https://sport.example.com"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
NEWS = {"Authorization": f"Bearer {NEWS_KEY}"}
OPEN = {"Authorization": f"Bearer {OPEN_KEY}"}
# The same id and topic in both collections, with facts only one of them holds.
STADIUM = "stadium.md"
NEWS_TEXT = (
    "---\ntitle: Council approves the new stadium\npublished: 2024-03-02\n---\n"
    "The city council approved the new harbour stadium on Tuesday; it will cost 310 million "
    "euros and seat 41,000 people, the mayor Ilse Varga said.\n"
)
SPORT_TEXT = (
    "---\ntitle: Harbour FC to play in the new stadium\npublished: 2024-04-11\n---\n"
    "Harbour FC will move to the new harbour stadium in 2027, coach Tomas Brandt said; the "
    "club expects 28,000 season ticket holders.\n"
)
FERRY = "A new ferry to the islands will sail twice a day from the harbour, the port said.\n"
QUESTION = "How many people will the new harbour stadium seat, and what will it cost?"


def access() -> str:
    bindings = {"news": {"api_keys": [NEWS_KEY]}, "sport": {"origins": [SPORT_SITE]}}
    return json.dumps(bindings)


def upload(client: httpx.Client, collection: str, name: str, text: str) -> httpx.Response:
    files = {"file": (name, text.encode())}
    return client.post("/api/documents", params={"collection": collection}, files=files)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    """One server with the stadium story in `news` and in `sport`, and nothing in default."""
    settings = make_settings(
        tmp_path_factory.mktemp("collections") / "data",
        admin_api_keys=ADMIN_KEY,
        api_keys=f"{NEWS_KEY},{OPEN_KEY}",
        collection_access=access(),
    )
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        with httpx.Client(base_url=base_url, headers=ADMIN, timeout=60) as admin:
            assert upload(admin, "news", STADIUM, NEWS_TEXT).status_code == 201
            assert upload(admin, "sport", STADIUM, SPORT_TEXT).status_code == 201
        yield base_url


def get(server: str, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
    return httpx.get(server + path, params=params, headers=headers, timeout=60)


def chat(server: str, headers: dict[str, str], **params: Any) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": QUESTION}]}
    return httpx.post(f"{server}/api/chat", json=body, params=params, headers=headers, timeout=60)


def completion(server: str, model: str, headers: dict[str, str]) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": QUESTION}]}
    return httpx.post(f"{server}/v1/chat/completions", json=body, headers=headers, timeout=60)


def test_search_and_chat_answer_from_the_collection_named(server: str) -> None:
    news = get(server, "/api/search", OPEN, q="stadium seats", collection="news").json()
    sport = get(server, "/api/search", OPEN, q="stadium seats", collection="sport").json()
    assert [r["title"] for r in news["results"]] == ["Council approves the new stadium"]
    assert [r["title"] for r in sport["results"]] == ["Harbour FC to play in the new stadium"]
    assert get(server, "/api/search", OPEN, q="stadium").json()["results"] == []  # default

    answer = chat(server, OPEN, collection="news").json()
    assert answer["answered"] and "41,000" in answer["answer"]
    assert {c["title"] for c in answer["citations"]} == {"Council approves the new stadium"}
    answer = chat(server, OPEN, collection="sport").json()
    assert "41,000" not in json.dumps(answer) and "310 million" not in json.dumps(answer)
    assert {c["title"] for c in answer["citations"]} <= {"Harbour FC to play in the new stadium"}


def test_v1_answers_from_the_collection_its_model_names(server: str) -> None:
    reply = completion(server, "citechat/news", OPEN).json()
    assert reply["model"] == "citechat/news"
    assert "41,000" in reply["choices"][0]["message"]["content"]
    sport = completion(server, "citechat/sport", OPEN).json()
    assert "41,000" not in json.dumps(sport)
    models = get(server, "/v1/models", OPEN).json()["data"]
    assert [m["id"] for m in models] == ["citechat", "citechat/news", "citechat/sport"]
    assert get(server, "/v1/models/citechat/news", OPEN).json()["id"] == "citechat/news"


def test_unknown_and_invalid_collections_are_clear_errors(server: str) -> None:
    missing = get(server, "/api/search", OPEN, q="stadium", collection="weather")
    assert missing.status_code == 404
    assert missing.json() == {"code": "collection_not_found", "detail": "no collection 'weather'"}
    invalid = get(server, "/api/documents", OPEN, collection="Not/A slug")
    assert invalid.status_code == 422 and invalid.json()["code"] == "invalid_collection"
    for model in ("citechat/weather", "citechat/Not A slug", "citechat/default"):
        error = completion(server, model, OPEN)
        assert error.status_code == 404
        assert error.json()["error"]["code"] == "model_not_found"
    # A read never creates a collection.
    assert "weather" not in get(server, "/api/collections", ADMIN).json()["collections"]


def test_a_bound_key_reaches_only_its_collections(server: str) -> None:
    assert get(server, "/api/search", NEWS, q="stadium", collection="news").status_code == 200
    for collection in ("sport", "default", "weather"):  # 403 whether or not it exists
        refused = get(server, "/api/search", NEWS, q="stadium", collection=collection)
        assert refused.status_code == 403
        assert refused.json() == {
            "code": "forbidden",
            "detail": f"collection {collection!r} is not open to this API key or page origin",
        }
    assert chat(server, NEWS).status_code == 403  # default
    error = completion(server, "citechat/sport", NEWS)
    assert error.status_code == 403 and error.json()["error"]["type"] == "permission_error"
    assert [m["id"] for m in get(server, "/v1/models", NEWS).json()["data"]] == ["citechat/news"]
    assert get(server, "/api/collections", NEWS).json() == {"collections": ["news"]}


def test_a_bound_origin_reaches_only_its_collections(server: str) -> None:
    page = OPEN | {"Origin": SPORT_SITE}
    assert chat(server, page, collection="sport").status_code == 200
    assert chat(server, page, collection="news").status_code == 403
    assert chat(server, page).status_code == 403
    other_page = OPEN | {"Origin": "https://elsewhere.example.com"}
    assert chat(server, other_page, collection="news").status_code == 200  # unbound origin
    admin_page = ADMIN | {"Origin": SPORT_SITE}  # admin keys reach every collection
    assert get(server, "/api/search", admin_page, q="x", collection="news").status_code == 200


def test_deletes_are_scoped_to_the_collection_named(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path / "data", admin_api_keys=ADMIN_KEY, api_keys=OPEN_KEY)
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        with httpx.Client(base_url=base_url, headers=ADMIN, timeout=60) as admin:
            assert upload(admin, "news", STADIUM, NEWS_TEXT).status_code == 201
            response = upload(admin, "sport", STADIUM, SPORT_TEXT)
            assert response.headers["Location"] == f"/api/documents/{STADIUM}?collection=sport"
            deleted = admin.delete(f"/api/documents/{STADIUM}", params={"collection": "sport"})
            assert deleted.status_code == 204
            gone = admin.get(f"/api/documents/{STADIUM}", params={"collection": "sport"})
            assert gone.status_code == 404
            kept = admin.get(f"/api/documents/{STADIUM}", params={"collection": "news"})
            assert kept.json()["title"] == "Council approves the new stadium"
            assert admin.get("/api/documents").json()["total"] == 0  # default untouched

            reader = {"Authorization": f"Bearer {OPEN_KEY}"}
            assert admin.delete("/api/collections/news", headers=reader).status_code == 403
            assert admin.delete("/api/collections/news").status_code == 204
            missing = admin.get("/api/documents", params={"collection": "news"})
            assert missing.status_code == 404
            assert admin.delete("/api/collections/news").status_code == 404
            assert admin.get("/api/collections").json() == {"collections": ["default", "sport"]}
            # Written again, it is a new, empty collection.
            assert upload(admin, "news", "other.md", SPORT_TEXT).status_code == 201
            listed = admin.get("/api/documents", params={"collection": "news"}).json()
            assert [d["document_id"] for d in listed["documents"]] == ["other.md"]
            # Deleting `default` empties it; the server goes on serving it.
            assert upload(admin, "default", "x.md", FERRY).status_code == 201
            assert admin.delete("/api/collections/default").status_code == 204
            assert admin.get("/readyz").status_code == 200
            assert admin.get("/api/documents").json()["total"] == 0
            assert upload(admin, "default", "x.md", FERRY).status_code == 201
            assert admin.get("/api/search", params={"q": "ferry"}).json()["results"] != []


def test_deleting_a_collection_removes_its_bm25_snapshots(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(tmp_path / "data", admin_api_keys=ADMIN_KEY)
    for name, text in (("news", NEWS_TEXT), ("sport", SPORT_TEXT)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / STADIUM).write_text(text)
        run_ingest(settings, embedder, [folder], collection=name)
    snapshots = tmp_path / "data" / "bm25"
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        for name in ("news", "sport"):  # each builds its BM25 index from the store, and saves it
            assert get(base_url, "/api/search", {}, q="stadium", collection=name).status_code == 200
            assert list(snapshots.glob(f"citechat--{name}-*/*/manifest.json")) != []
        deleted = httpx.delete(f"{base_url}/api/collections/news", headers=ADMIN)
        assert deleted.status_code == 204
    assert list(snapshots.glob("citechat--news-*")) == []
    assert list(snapshots.glob("citechat--sport-*/*/manifest.json")) != []


def test_server_mode_replicas_find_each_others_collections(
    tmp_path: Path, embedder: Embedder, chroma_address: tuple[str, int]
) -> None:
    host, port = chroma_address
    settings = make_settings(
        tmp_path / "data",
        chroma_host=host,
        chroma_port=port,
        collection="coll-test",
        admin_api_keys=ADMIN_KEY,
        bm25_snapshot_dir=tmp_path / "bm25",
    )
    first = serve_app(create_app(settings, embedder=embedder))
    second = serve_app(create_app(settings, embedder=embedder))
    with first as one, second as two:
        # The second replica looks for `news` before anyone made it: a 404, and nothing made.
        assert get(two, "/api/search", ADMIN, q="stadium", collection="news").status_code == 404
        with httpx.Client(base_url=one, headers=ADMIN, timeout=60) as admin:
            assert upload(admin, "news", STADIUM, NEWS_TEXT).status_code == 201
            assert upload(admin, "sport", STADIUM, SPORT_TEXT).status_code == 201
        news = get(two, "/api/search", ADMIN, q="stadium seats", collection="news").json()
        assert [r["title"] for r in news["results"]] == ["Council approves the new stadium"]
        answer = chat(two, ADMIN, collection="sport").json()
        assert "41,000" not in json.dumps(answer)
        assert get(two, "/api/collections", ADMIN).json()["collections"] == [
            "default",
            "news",
            "sport",
        ]
        assert httpx.delete(f"{one}/api/collections/news", headers=ADMIN).status_code == 204
        assert get(two, "/api/search", ADMIN, q="stadium", collection="news").status_code == 404


def test_an_on_disk_server_sees_another_process_write_to_one_of_its_collections(
    tmp_path: Path, embedder: Embedder
) -> None:
    """With two collections open, a write by another process to one of them reaches dense
    search too: the server's one client is reopened (chromadb serves a path's old vectors
    while any client of that path stays open)."""
    settings = make_settings(tmp_path / "data", retrieval_mode="dense")
    for name, text in (("news", NEWS_TEXT), ("sport", SPORT_TEXT)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / STADIUM).write_text(text)
        run_ingest(settings, embedder, [folder], collection=name)
    with serve_process(settings) as base_url:
        for name in ("news", "sport"):
            assert get(base_url, "/api/search", {}, q="stadium", collection=name).status_code == 200
        (tmp_path / "news" / "ferry.md").write_text(FERRY)
        run_ingest(settings, embedder, [tmp_path / "news"], collection="news")
        deadline = time.monotonic() + 30  # the refresh, on a busy machine
        while time.monotonic() < deadline:
            found = get(base_url, "/api/search", {}, q="ferry to the islands", collection="news")
            if [r["document_id"] for r in found.json()["results"]][:1] == ["ferry.md"]:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the server's dense search never found the new document")


def test_cli_takes_a_collection(tmp_path: Path, embedder: Embedder, monkeypatch: Any) -> None:
    monkeypatch.setenv("CITECHAT_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / STADIUM).write_text(NEWS_TEXT)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, list(args), obj=embedder)

    assert run("ingest", str(folder), "--collection", "news").exit_code == 0
    listed = run("documents", "--collection", "news")
    assert listed.exit_code == 0 and listed.stdout.startswith(STADIUM)
    assert run("documents").stdout == ""  # default holds nothing
    asked = run("ask", QUESTION, "--collection", "news")
    assert asked.exit_code == 0 and "41,000" in asked.stdout
    assert run("collections").stdout.split() == ["default", "news"]
    cases = tmp_path / "set.jsonl"
    case = {"id": "seats", "category": "fact", "turns": [QUESTION], "expect_any": [["41,000"]]}
    cases.write_text(json.dumps(case | {"sources": [STADIUM], "answerable": True}) + "\n")
    evaluated = run("eval", str(cases), "--collection", "news", "--out", str(tmp_path / "r.json"))
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["questions"][0]["passed"] is True
    missing = run("documents", "--collection", "sport")
    assert (missing.exit_code, missing.stderr) == (1, "error: no collection 'sport'\n")
    invalid = run("ingest", str(folder), "--collection", "Bad Name")
    assert invalid.exit_code == 2 and "is not a collection name" in invalid.stderr
    assert run("delete-collection", "news", "--yes").stdout == "deleted collection news\n"
    assert run("collections").stdout.split() == ["default"]


def test_a_collection_deleted_and_made_again_elsewhere_is_read_afresh(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A replica whose collection another one deleted and made again rebuilds its BM25 index
    from the new collection, not from its old one plus the new change log."""
    settings = make_settings(tmp_path / "data")
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / STADIUM).write_text(NEWS_TEXT)
    (new / "a.md").write_text(SPORT_TEXT)
    (new / "b.md").write_text(FERRY)
    run_ingest(settings, embedder, [old], collection="news")
    replica, other = Collections(settings, embedder), Collections(settings, embedder)
    retriever = replica.get("news").retriever
    retriever.refresh()
    assert retriever.status().chunks == 1
    other.delete("news")
    run_ingest(settings, embedder, [new], collection="news")  # generation 1 again
    retriever.refresh()
    assert retriever.status().chunks == 2
    found = {p.document_id for p in retriever.search("harbour stadium ferry", 10)}
    assert found == {"a.md", "b.md"}
