from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf.generic import NumberObject

from ingestion.embeddings import Embedder
from service.app import create_app
from tests.helpers import (
    SAMPLE_CORPUS,
    built_pdf,
    make_settings,
    minimal_pdf,
    run_ingest,
    serve_app,
)

ADMIN_KEY = "admin-key-0123456789abcdef"
READ_KEY = "read-key-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
MAX_FILE_BYTES = 20_000
OLD = "2023-09-23-us-offers-100m-for-kenya-led-haiti-mission.md"
ZEBRA = "---\ntitle: Zebrafish sighted\nsource: https://example.org/z\n---\n" + (
    "Zebrafish were found in the harbour of Port-au-Prince on Monday, officials said.\n"
)
BOMB = built_pdf(["Page"], fanout=30, depth=2)  # 1 KB, one page reached 900 times
ZEBRA_CHANGED = ZEBRA.replace("on Monday", "on Friday, not Monday")


@contextmanager
def documents_api(data_dir: Path, embedder: Embedder) -> Iterator[httpx.Client]:
    """A server with an admin key over a fresh index of the sample corpus."""
    settings = make_settings(
        data_dir, admin_api_keys=ADMIN_KEY, api_keys=READ_KEY, max_file_bytes=MAX_FILE_BYTES
    )
    run_ingest(settings, embedder, [SAMPLE_CORPUS])
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        with httpx.Client(base_url=base_url, timeout=60, headers=ADMIN) as client:
            yield client


@pytest.fixture
def api(tmp_path: Path, embedder: Embedder) -> Iterator[httpx.Client]:
    """A server of its own, for a test that changes documents."""
    with documents_api(tmp_path / "data", embedder) as client:
        yield client


@pytest.fixture(scope="module")
def shared_api(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[httpx.Client]:
    """One server for the tests whose requests must change nothing."""
    with documents_api(tmp_path_factory.mktemp("documents") / "data", embedder) as client:
        yield client


def upload(
    api: httpx.Client, name: str, content: str | bytes, method: str = "POST", **fields: str
) -> httpx.Response:
    url = "/api/documents" if method == "POST" else f"/api/documents/{fields.pop('id')}"
    files = {"file": (name, content)}
    return api.request(method, url, files=files, data=fields)


def top_search_hit(api: httpx.Client, query: str) -> dict[str, Any]:
    response = api.get("/api/search", params={"q": query, "k": 1})
    assert response.status_code == 200
    return dict(response.json()["results"][0])


def cited(api: httpx.Client, question: str) -> tuple[set[str], str]:
    chat = {"messages": [{"role": "user", "content": question}]}
    body = api.post("/api/chat", json=chat).json()
    return {c["document_id"] for c in body["citations"]}, body["answer"]


def test_upload_ask_replace_ask_delete_ask_on_one_server(api: httpx.Client) -> None:
    question = "When were zebrafish found in the harbour of Port-au-Prince?"
    assert "zebra.md" not in cited(api, question)[0]

    created = upload(api, "zebra.md", ZEBRA)
    assert created.status_code == 201
    assert created.headers["location"] == "/api/documents/zebra.md"
    body = created.json()
    assert body["status"] == "new" and body["chunks_embedded"] == 1
    assert body["document"] == {
        "document_id": "zebra.md",
        "title": "Zebrafish sighted",
        "source": "https://example.org/z",
        "published": "",
        "chunks": 1,
    }
    assert api.get("/api/documents/zebra.md").json() == body["document"]
    documents, answer = cited(api, question)
    assert "zebra.md" in documents and "Monday" in answer

    replaced = upload(api, "zebra.md", ZEBRA_CHANGED, "PUT", id="zebra.md")
    assert replaced.status_code == 200
    assert (replaced.json()["status"], replaced.json()["chunks_embedded"]) == ("changed", 1)
    assert "Friday" in top_search_hit(api, "zebrafish harbour")["text"]
    assert "Friday" in cited(api, question)[1]

    assert api.delete("/api/documents/zebra.md").status_code == 204
    assert "zebra.md" not in cited(api, question)[0]
    assert top_search_hit(api, "zebrafish harbour")["document_id"] != "zebra.md"
    assert api.get("/api/documents/zebra.md").status_code == 404


def test_uploads_are_idempotent_by_content(api: httpx.Client) -> None:
    assert upload(api, "zebra.md", ZEBRA).status_code == 201
    again = upload(api, "zebra.md", ZEBRA)
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["chunks_embedded"]) == ("unchanged", 0)
    same = upload(api, "zebra.md", ZEBRA, "PUT", id="zebra.md")
    assert (same.json()["status"], same.json()["chunks_embedded"]) == ("unchanged", 0)

    other = upload(api, "zebra.md", ZEBRA_CHANGED)
    assert other.status_code == 409
    assert other.json()["code"] == "conflict"
    assert "replace it with PUT" in other.json()["detail"]
    assert "Monday" in top_search_hit(api, "zebrafish harbour")["text"]


def test_form_fields_override_metadata_and_name_the_document(api: httpx.Client) -> None:
    response = upload(
        api,
        "draft.txt",
        "Zebrafish were counted again in the harbour.",
        document_id="2025/zebra-count.txt",
        title="Zebrafish counted",
        source="https://example.org/count",
        published="2025-06-01",
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/api/documents/2025/zebra-count.txt"
    document = api.get("/api/documents/2025/zebra-count.txt").json()
    assert (document["title"], document["source"], document["published"]) == (
        "Zebrafish counted",
        "https://example.org/count",
        "2025-06-01",
    )


def test_html_and_pdf_uploads_use_the_same_loaders(api: httpx.Client) -> None:
    html = (
        "<html><head><title>Harbour news</title></head><body><article><p>"
        + ("Zebrafish were seen in the harbour again this week, the port authority said. " * 3)
        + "</p></article></body></html>"
    )
    assert upload(api, "page.html", html).json()["document"]["title"] == "Harbour news"
    pdf = upload(api, "report.pdf", minimal_pdf("Zebrafish census report"))
    assert pdf.status_code == 201
    assert pdf.json()["document"]["chunks"] == 1
    hits = api.get("/api/search", params={"q": "zebrafish census report", "k": 5}).json()
    census = [hit["text"] for hit in hits["results"] if hit["document_id"] == "report.pdf"]
    assert census == ["Zebrafish census report"]


@pytest.mark.parametrize(
    ("name", "content", "fields", "status", "code", "detail"),
    [
        ("a.docx", b"PK\x03\x04", {}, 415, "unsupported_file_type", "is not one of .htm, .html"),
        ("noext", "text", {}, 415, "unsupported_file_type", "'noext' is not one of"),
        ("big.txt", "x" * (MAX_FILE_BYTES + 1), {}, 413, "file_too_large", "larger than 20000"),
        ("a.txt", b"caf\xe9", {}, 422, "invalid_document", "not UTF-8 text (byte 3)"),
        ("a.txt", b"\x00\x01", {}, 422, "invalid_document", "binary content"),
        ("a.md", "", {}, 422, "invalid_document", "no text"),
        ("a.md", "---\na: &a [1]\nb: *a\n---\nx", {}, 422, "invalid_document", "aliases"),
        ("a.md", "---\ntitle: [x]\n---\nx", {}, 422, "invalid_document", "'title' must be text"),
        ("a.pdf", b"%PDF-1.4 broken", {}, 422, "invalid_document", "unreadable PDF"),
        ("a.md", "x", {"published": "2025-02-30"}, 422, "invalid_document", "impossible date"),
        ("a.md", "x", {"document_id": "../etc/passwd"}, 422, "invalid_document", "'..'"),
        ("a.md", "x", {"document_id": "/abs.md"}, 422, "invalid_document", "relative path"),
        ("a.md", "x", {"document_id": "a\u202eb.md"}, 422, "invalid_document", "bidi"),
        ("a\x1b.md", "x", {}, 422, "invalid_document", "control"),
        ("look\u2060.md", "x", {}, 422, "invalid_document", "zero-width"),
        ("a.md", "x", {"document_id": "look\u200b.md"}, 422, "invalid_document", "zero-width"),
        ("a.md", "x", {"title": "T" * 501}, 422, "invalid_document", "title: at most 500"),
        ("a.md", "x", {"source": "s" * 2049}, 422, "invalid_document", "source: at most 2048"),
        ("bomb.pdf", BOMB, {}, 422, "invalid_document", "repeats pages: 900 pages, 1 distinct"),
    ],
)
def test_bad_uploads_are_clear_4xx_and_store_nothing(
    shared_api: httpx.Client,
    name: str,
    content: str | bytes,
    fields: dict[str, str],
    status: int,
    code: str,
    detail: str,
) -> None:
    response = upload(shared_api, name, content, **fields)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert detail in response.json()["detail"]
    assert shared_api.get("/api/documents").json()["total"] == 3


def test_ids_and_names_are_nfc_and_a_pdf_title_that_is_not_text_is_ignored(
    api: httpx.Client,
) -> None:
    created = upload(api, "cafe\u0301.md", ZEBRA)
    assert created.status_code == 201, created.text
    assert created.json()["document"]["document_id"] == "caf\u00e9.md"
    assert api.get("/api/documents/cafe\u0301.md").json()["document_id"] == "caf\u00e9.md"
    assert upload(api, "x.md", ZEBRA, document_id="caf\u00e9.md").json()["status"] == "unchanged"
    pdf = upload(api, "census.pdf", built_pdf(["Zebrafish census"], title=NumberObject(42)))
    assert pdf.json()["document"]["title"] == "census"
    assert api.delete("/api/documents/cafe\u0301.md").status_code == 204


def test_uploads_and_folder_ingests_never_replace_each_other_silently(
    api: httpx.Client, tmp_path: Path, embedder: Embedder
) -> None:
    mine = (SAMPLE_CORPUS / OLD).read_text()  # stored by the fixture's folder ingest
    for content in (ZEBRA, mine):  # identical content does not make it an upload either
        refused = upload(api, OLD, content)
        assert refused.status_code == 409
        assert refused.json()["detail"] == (
            f"document {OLD!r} was stored by `citechat ingest` from a folder: "
            "replace it with PUT /api/documents/{document_id} to make it an upload"
        )
    taken = upload(api, OLD, mine, "PUT", id=OLD)
    assert (taken.status_code, taken.json()["status"]) == (200, "unchanged")
    settings = make_settings(tmp_path / "data", max_file_bytes=MAX_FILE_BYTES)
    again = run_ingest(settings, embedder, [SAMPLE_CORPUS], prune=True)
    assert (again.unchanged, again.pruned) == (2, 0)
    assert [reason for _, reason in again.failed] == [
        f"id {OLD!r} is held by an upload: not replaced (--replace replaces it)"
    ]
    assert upload(api, OLD, ZEBRA, "PUT", id=OLD).json()["status"] == "changed"


@pytest.mark.parametrize(
    ("file_name", "document_id", "detail"),
    [
        (b"a.md", b"caf\xe9.md", "field 'document_id': not valid UTF-8 (byte 3)"),
        (b"r\xe9sum\xe9.md", None, "file name: not valid UTF-8 (byte 1)"),
        (b"a.md", b"ok.md\xff", "field 'document_id': not valid UTF-8 (byte 5)"),
    ],
)
def test_form_fields_and_names_that_are_not_utf8_are_a_400(
    shared_api: httpx.Client, file_name: bytes, document_id: bytes | None, detail: str
) -> None:
    parts = [b'name="file"; filename="' + file_name + b'"\r\n\r\nSome text.']
    if document_id is not None:
        parts.append(b'name="document_id"\r\n\r\n' + document_id)
    body = b"".join(b"--b0undary\r\nContent-Disposition: form-data; " + p + b"\r\n" for p in parts)
    response = shared_api.post(
        "/api/documents",
        content=body + b"--b0undary--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 400, response.text
    assert response.json() == {"code": "http_error", "detail": detail}
    assert shared_api.get("/api/documents").json()["total"] == 3


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(shared_api: httpx.Client) -> None:
    response = upload(shared_api, "huge.txt", "x" * (MAX_FILE_BYTES + 100_000))
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_replace_and_delete_of_unknown_documents_are_404(shared_api: httpx.Client) -> None:
    response = upload(shared_api, "nope.md", "text", "PUT", id="nope.md")
    assert response.status_code == 404
    assert "upload it with POST" in response.json()["detail"]
    assert shared_api.delete("/api/documents/nope.md").status_code == 404
    assert shared_api.get("/api/documents/nope.md").json()["code"] == "not_found"


def test_writes_need_the_admin_key(shared_api: httpx.Client) -> None:
    files = {"file": ("z.md", ZEBRA)}
    assert httpx.post(f"{shared_api.base_url}/api/documents", files=files).status_code == 401
    read_only = {"Authorization": f"Bearer {READ_KEY}"}
    url = f"{shared_api.base_url}/api/documents/{OLD}"
    assert httpx.put(url, files=files, headers=read_only).status_code == 403
    assert httpx.get(url, headers=read_only).status_code == 200


def test_the_list_comes_in_pages(shared_api: httpx.Client) -> None:
    first = shared_api.get("/api/documents", params={"limit": 2}).json()
    assert (len(first["documents"]), first["total"], first["next_offset"]) == (2, 3, 2)
    rest = shared_api.get("/api/documents", params={"limit": 2, "offset": 2}).json()
    assert (len(rest["documents"]), rest["next_offset"]) == (1, None)
    ids = [d["document_id"] for d in first["documents"] + rest["documents"]]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert shared_api.get("/api/documents", params={"limit": 0}).status_code == 422
    assert shared_api.get("/api/documents", params={"offset": 10}).json()["documents"] == []
