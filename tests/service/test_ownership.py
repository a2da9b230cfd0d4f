"""Uploads, folder ingests, prunes and deletes in any order lose no document (issue 21).

Random sequences of operations over two folders and the documents API, on a real on-disk
store with the real model and a real server; after every step the store must hold exactly what
a model of the ownership rules (docs/documents.md) says: every document its owner did not
delete, prune or replace is still stored, with its content.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from service.wiring import open_store
from tests.helpers import make_settings, run_ingest, serve_app

ADMIN_KEY = "admin-key-0123456789abcdef"
NAMES = ["a.md", "b.md"]
FOLDERS = ["A", "B"]
UPLOAD = "upload"
_examples = itertools.count()
Op = tuple[str, ...]  # (kind, arguments...): see apply()
FINDING: list[Op] = [
    ("upload", "a.md", "1"),
    ("write", "A", "a.md", "2"),
    ("ingest", "A", ""),
]
TAKEN_OVER: list[Op] = [
    ("write", "A", "a.md", "1"),
    ("ingest", "A", ""),
    ("upload", "a.md", "1"),
    ("put", "a.md", "1"),
]

names = st.sampled_from(NAMES)
folders = st.sampled_from(FOLDERS)
versions = st.sampled_from(["1", "2"])  # few texts: identical content across owners is common
operations = st.one_of(
    st.tuples(st.just("upload"), names, versions),
    st.tuples(st.just("put"), names, versions),
    st.tuples(st.just("delete"), names),
    st.tuples(st.just("write"), folders, names, versions),
    st.tuples(st.just("remove"), folders, names),
    st.tuples(st.just("ingest"), folders, st.sampled_from(["", "prune"])),
)


@dataclass
class Model:
    """What the store must hold: id -> (owner, text); owner is UPLOAD or a folder's name."""

    stored: dict[str, tuple[str, str]] = field(default_factory=dict)
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (folder, name) -> text


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[Settings, httpx.Client]]:
    settings = make_settings(
        tmp_path_factory.mktemp("ownership") / "data", admin_api_keys=ADMIN_KEY
    )
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=base_url, timeout=60, headers=headers) as client:
            yield settings, client


def text_of(version: str) -> str:
    return f"Version {version} of the note says the bridge opened."


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(steps=st.lists(operations, min_size=1, max_size=10))
# The sequences of finding 2, then random ones.
@example(steps=[*FINDING, ("remove", "A", "a.md"), ("ingest", "A", "prune")])
@example(steps=[("upload", "a.md", "1"), ("write", "A", "a.md", "1"), ("ingest", "A", "prune")])
@example(steps=[*TAKEN_OVER, ("remove", "A", "a.md"), ("ingest", "A", "prune")])
@example(steps=[("write", f, "a.md", "1") for f in FOLDERS] + [("ingest", f, "") for f in FOLDERS])
def test_no_document_is_lost_whatever_the_order(
    steps: list[Op],
    server: tuple[Settings, httpx.Client],
    embedder: Embedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings, api = server
    prefix = f"run{next(_examples)}"  # each example its own ids and folders in one store
    root = tmp_path_factory.mktemp(prefix)
    model = Model()
    for step in steps:
        apply(step, model, settings, api, embedder, root, prefix)
        assert stored(settings, embedder, prefix, root) == model.stored, step


def apply(
    step: Op,
    model: Model,
    settings: Settings,
    api: httpx.Client,
    embedder: Embedder,
    root: Path,
    prefix: str,
) -> None:
    """Do ``step`` and update ``model`` as the ownership rules say."""
    kind, *args = step
    if kind in ("upload", "put"):
        name, version = args
        document_id, text, old = f"{prefix}/{name}", text_of(version), model.stored.get(name)
        files = {"file": (name, text)}
        if kind == "upload":
            response = api.post("/api/documents", files=files, data={"document_id": document_id})
            expected = 201 if old is None else 200 if old == (UPLOAD, text) else 409
        else:
            response = api.put(f"/api/documents/{document_id}", files=files)
            expected = 404 if old is None else 200
        assert response.status_code == expected, (step, response.text)
        if expected in (200, 201):
            model.stored[name] = (UPLOAD, text)
    elif kind == "delete":
        (name,) = args
        response = api.delete(f"/api/documents/{prefix}/{name}")
        assert response.status_code == (204 if name in model.stored else 404)
        model.stored.pop(name, None)
    elif kind == "write":
        folder, name, version = args
        path = root / folder / prefix / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text_of(version))
        model.files[folder, name] = text_of(version)
    elif kind == "remove":
        folder, name = args
        (root / folder / prefix / name).unlink(missing_ok=True)
        model.files.pop((folder, name), None)
    else:
        folder, prune = args
        (root / folder).mkdir(exist_ok=True)
        report = run_ingest(settings, embedder, [root / folder], prune=prune == "prune")
        refused = set()
        for (where, name), text in model.files.items():
            old = model.stored.get(name)
            if where == folder and (old is None or old[0] == folder):
                model.stored[name] = (folder, text)
            elif where == folder:
                refused.add(f"{prefix}/{name}")
        if prune:
            for name, (owner, _) in list(model.stored.items()):
                if owner == folder and (folder, name) not in model.files:
                    del model.stored[name]
        assert {reason.split("'")[1] for _, reason in report.failed} == refused


def stored(
    settings: Settings, embedder: Embedder, prefix: str, root: Path
) -> dict[str, tuple[str, str]]:
    """The store's documents of this example as the model writes them."""
    store = open_store(settings, embedder.name)
    texts = store.document_texts()
    owners = {
        document_id: UPLOAD if doc.origin == UPLOAD else Path(doc.folder).name
        for document_id, doc in store.documents().items()
    }
    return {
        document_id.split("/", 1)[1]: (owners[document_id], text)
        for document_id, text in texts.items()
        if document_id.startswith(f"{prefix}/")
    }
