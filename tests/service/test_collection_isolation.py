"""Two collections on overlapping topics never show each other's documents.

Hypothesis draws interleaved uploads, deletes, questions and searches in two collections of
one real server. Each collection's documents carry its own marker name (in the title and in
every sentence) among shared words and shared document ids; questions use shared words only.
Every reply of one collection (answer, citations, notice, search results, errors) is free of
the other's marker, and each collection lists exactly the documents written to it and not
deleted from it.
"""

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.embeddings import Embedder
from service.app import create_app
from tests.helpers import make_settings, serve_app

ADMIN_KEY = "admin-key-0123456789abcdef"
MARKERS = {"alpha": "Amberton", "beta": "Borvik"}  # each collection's own name
WORDS = (
    "harbour stadium council budget million opened bridge police mission water plant "
    "2023 2024 March cost rose fell the new city mayor said"
).split()
IDS = ("d0.md", "d1.md", "d2.md")  # shared by both collections

words = st.lists(st.sampled_from(WORDS), min_size=2, max_size=8).map(" ".join)
collection = st.sampled_from(sorted(MARKERS))
upload = st.tuples(st.just("upload"), collection, st.sampled_from(IDS), words)
delete = st.tuples(st.just("delete"), collection, st.sampled_from(IDS), st.just(""))
ask = st.tuples(st.just("ask"), collection, st.just(""), words)
search = st.tuples(st.just("search"), collection, st.just(""), words)
steps = st.lists(st.one_of(upload, delete, ask, search), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[httpx.Client]:
    data_dir = tmp_path_factory.mktemp("isolation") / "data"
    app = create_app(make_settings(data_dir, admin_api_keys=ADMIN_KEY), embedder=embedder)
    with serve_app(app) as base_url:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=base_url, timeout=120, headers=headers) as client:
            yield client


def document(name: str, marker: str, body: str) -> bytes:
    sentences = [f"{marker} {body}.", f"The {body} in {marker} was reported."]
    return f"---\ntitle: {marker} report {name}\n---\n{' '.join(sentences)}\n".encode()


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_no_reply_of_one_collection_shows_the_other(
    api: httpx.Client, steps: list[tuple[str, str, str, str]]
) -> None:
    for name in MARKERS:
        assert api.delete(f"/api/collections/{name}").status_code in (204, 404)
    stored: dict[str, set[str]] = {name: set() for name in MARKERS}
    for action, name, document_id, text in steps:
        params = {"collection": name}
        if action == "upload":
            files = {"file": (document_id, document(document_id, MARKERS[name], text))}
            response = api.put(f"/api/documents/{document_id}", params=params, files=files)
            if response.status_code == 404:  # not stored yet: PUT replaces, POST creates
                response = api.post("/api/documents", params=params, files=files)
            assert response.status_code in (200, 201), response.text
            stored[name].add(document_id)
        elif action == "delete":
            response = api.delete(f"/api/documents/{document_id}", params=params)
            assert response.status_code in (204, 404)
            stored[name].discard(document_id)
        elif action == "ask":
            body = {"messages": [{"role": "user", "content": f"What about the {text}?"}]}
            response = api.post("/api/chat", params=params, json=body)
            model = "citechat/" + name
            completion = api.post("/v1/chat/completions", json=body | {"model": model})
            assert completion.status_code in (200, 404)  # 404: nothing stored in it yet
            assert_only_own(name, completion.text)
        else:
            response = api.get("/api/search", params=params | {"q": text})
        assert_only_own(name, response.text)
        for each in MARKERS:
            listed = api.get("/api/documents", params={"collection": each})
            if listed.status_code == 404:  # never written to
                assert not stored[each]
                continue
            assert {d["document_id"] for d in listed.json()["documents"]} == stored[each]
            assert_only_own(each, listed.text)


def assert_only_own(name: str, reply: str) -> None:
    for other, marker in MARKERS.items():
        if other != name:
            assert marker not in reply, f"{other}'s {marker} in a reply of {name}: {reply}"
