"""A replica loads the BM25 snapshot another one saved, and rebuilds when it cannot."""

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import numpy as np
import pytest

from ingestion.embeddings import Embedder
from ingestion.store import CHANGE_LOG_LIMIT, ChunkStore, StoredChunk
from service.app import create_app
from service.retrieval import Retriever
from service.settings import Settings
from service.wiring import build_components, open_store
from tests.helpers import SAMPLE_CORPUS, copy_corpus, make_settings, run_ingest, serve_app, tmpfs

MAY = "2025-05-23-us-signals-end-of-haiti-mission-funding.md"
QUERY = "US ends Haiti mission funding"
ADMIN_KEY = "admin-key-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def settings(tmp_path: Path, embedder: Embedder) -> Settings:
    settings = make_settings(tmp_path / "data")
    run_ingest(settings, embedder, [copy_corpus(tmp_path / "corpus")])
    return settings


@pytest.fixture
def full_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per read of the whole collection with texts (a BM25 rebuild)."""
    reads: list[bool] = []
    iter_chunks = ChunkStore.iter_chunks

    def counted(self: ChunkStore, include_text: bool = False) -> Iterator[StoredChunk]:
        if include_text:
            reads.append(True)
        return iter_chunks(self, include_text)

    monkeypatch.setattr(ChunkStore, "iter_chunks", counted)
    return reads


def replica(settings: Settings, embedder: Embedder) -> Retriever:
    retriever = build_components(settings, embedder).retriever
    retriever.refresh()
    return retriever


def ranked(retriever: Retriever, query: str = QUERY) -> list[tuple[str, float]]:
    return [(p.chunk_id, round(p.score, 9)) for p in retriever.search(query, 8)]


def snapshots(settings: Settings) -> list[Path]:
    return sorted(settings.bm25_snapshot_path.glob("*/*"))


def test_a_second_replica_loads_the_first_one_s_snapshot_without_reading_the_store(
    settings: Settings, embedder: Embedder, full_reads: list[bool]
) -> None:
    first = replica(settings, embedder)
    assert full_reads == [True] and len(snapshots(settings)) == 1

    second = replica(settings, embedder)

    assert full_reads == [True]  # the snapshot, not a second full read
    assert second.status().lexical == "ready"
    assert second.status().chunks == first.status().chunks
    assert ranked(second) == ranked(first)
    assert any(p.similarity is None or p.similarity != p.score for p in second.search(QUERY, 8))


def test_a_replica_applies_the_changes_made_since_the_snapshot(
    tmp_path: Path, settings: Settings, embedder: Embedder, full_reads: list[bool]
) -> None:
    running = replica(settings, embedder)
    (tmp_path / "corpus" / "z.md").write_text("Zebrafish were found in the harbour of Haiti.")
    run_ingest(settings, embedder, [tmp_path / "corpus"])
    store = open_store(settings, embedder.name)
    store.delete_document(MAY)
    store.bump_revision()

    loaded = replica(settings, embedder)

    assert full_reads == [True]
    assert loaded.search("zebrafish harbour", 3)[0].document_id == "z.md"
    assert MAY not in {p.document_id for p in loaded.search(QUERY, 10)}
    running.refresh()  # followed the same changes from the same base
    assert ranked(loaded, "zebrafish harbour Haiti") == ranked(running, "zebrafish harbour Haiti")


@pytest.mark.parametrize(
    "damage",
    [
        "truncated scores",
        "flipped byte",
        "missing manifest",
        "rows of another index",
        "empty directory",
    ],
)
def test_a_damaged_snapshot_is_removed_and_rebuilt(
    settings: Settings, embedder: Embedder, full_reads: list[bool], damage: str
) -> None:
    expected = ranked(replica(settings, embedder))
    [path] = snapshots(settings)
    scores = path / "data.csc.index.npy"
    if damage == "truncated scores":
        scores.write_bytes(scores.read_bytes()[:-16])
    elif damage == "flipped byte":
        data = bytearray(scores.read_bytes())
        data[-1] ^= 0xFF
        scores.write_bytes(bytes(data))
    elif damage == "missing manifest":
        (path / "manifest.json").unlink()
    elif damage == "rows of another index":
        (path / "rows.json").write_text('{"ids": ["x"], "documents": ["x"], "avg_length": 1}')
    else:
        for file in path.iterdir():
            file.unlink()

    again = replica(settings, embedder)

    assert full_reads == [True, True]  # rebuilt from the store
    assert ranked(again) == expected
    [saved] = snapshots(settings)  # saved afresh in place of the damaged one
    assert (saved / "manifest.json").exists()
    assert full_reads == [True, True]
    replica(settings, embedder)
    assert full_reads == [True, True]  # and the new one loads


def test_a_snapshot_the_change_log_cannot_bring_up_to_date_is_not_used(
    settings: Settings, embedder: Embedder, full_reads: list[bool]
) -> None:
    replica(settings, embedder)
    store = open_store(settings, embedder.name)
    [chunk] = store.get_chunks([next(iter(store.iter_chunks())).chunk_id])
    many = [f"bulk-{i}.md" for i in range(CHANGE_LOG_LIMIT + 1)]  # more than the log names
    vector = embedder.embed_query("bulk")
    for start in range(0, len(many), 100):
        part = many[start : start + 100]
        store.upsert(
            ids=[f"{doc}::0" for doc in part],
            texts=[f"Quokkas number {doc}" for doc in part],
            embeddings=[vector] * len(part),
            metadatas=[chunk.metadata | {"document_id": doc} for doc in part],
        )
    store.bump_revision()

    stale = replica(settings, embedder)

    assert full_reads == [True, True]  # the snapshot was passed over
    assert stale.status().chunks == store.collection.count()
    assert stale.search("quokkas", 3)[0].document_id.startswith("bulk-")
    assert len(snapshots(settings)) == 1  # the new one replaced the old


def rewrite_manifest(path: Path) -> None:
    """Make the manifest match the snapshot's files again, as a careless tool would."""
    manifest = json.loads((path / "manifest.json").read_text())
    sums = manifest.get("files", manifest)
    for name in list(sums):
        sums[name] = hashlib.sha256((path / name).read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))


def edit_rows(path: Path, **changes: object) -> None:
    rows = json.loads((path / "rows.json").read_text())
    (path / "rows.json").write_text(json.dumps(rows | changes))


def edit_array(path: Path, name: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
    file = path / f"{name}.csc.index.npy"
    np.save(file, change(np.load(file)))


@pytest.mark.parametrize(
    "damage",
    [
        "row indices out of bounds",
        "row ids reversed",
        "row ids and documents reversed",
        "scores not numbers",
        "column pointers shifted",
        "vocabulary shuffled",
        "rows of another index",
        "another scoring method",
    ],
)
def test_a_snapshot_whose_manifest_was_made_to_match_is_still_checked(
    settings: Settings,
    embedder: Embedder,
    full_reads: list[bool],
    caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    expected = ranked(replica(settings, embedder))
    [path] = snapshots(settings)
    rows = json.loads((path / "rows.json").read_text())
    if damage == "row indices out of bounds":
        edit_array(path, "indices", lambda a: a + len(rows["ids"]))
    elif damage == "row ids reversed":
        edit_rows(path, ids=rows["ids"][::-1])
    elif damage == "row ids and documents reversed":
        edit_rows(path, ids=rows["ids"][::-1], documents=rows["documents"][::-1])
    elif damage == "scores not numbers":
        edit_array(path, "data", lambda a: np.where(a > np.median(a), np.nan, a))
    elif damage == "column pointers shifted":
        edit_array(path, "indptr", lambda a: np.concatenate([a[:1], a[2:], a[-1:]]))
    elif damage == "vocabulary shuffled":
        vocab = json.loads((path / "vocab.index.json").read_text())
        names = sorted(vocab)
        values = [vocab[name] for name in names]
        shuffled = dict(zip(names, values[1:] + values[:1], strict=True))
        (path / "vocab.index.json").write_text(json.dumps(shuffled))
    elif damage == "rows of another index":
        edit_rows(path, ids=rows["ids"][:-1], documents=rows["documents"][:-1])
    else:
        params = json.loads((path / "params.index.json").read_text())
        (path / "params.index.json").write_text(json.dumps(params | {"k1": 0.1}))
    rewrite_manifest(path)

    with caplog.at_level(logging.WARNING, logger="service.lexical_snapshots"):
        again = replica(settings, embedder)

    assert full_reads == [True, True]  # discarded and rebuilt from the store
    assert ranked(again) == expected
    assert any("damaged, removed and rebuilt" in r.getMessage() for r in caplog.records)
    [saved] = snapshots(settings)
    assert ranked(replica(settings, embedder)) == expected and full_reads == [True, True]


def test_a_snapshot_with_an_average_length_not_a_number_is_rebuilt(
    tmp_path: Path, settings: Settings, embedder: Embedder, full_reads: list[bool]
) -> None:
    replica(settings, embedder)
    [path] = snapshots(settings)
    edit_rows(path, avg_length=float("nan"))
    rewrite_manifest(path)
    (tmp_path / "corpus" / "z.md").write_text("Zebrafish were found in the harbour of Haiti.")
    run_ingest(settings, embedder, [tmp_path / "corpus"])  # scored against the average length

    loaded = replica(settings, embedder)

    assert full_reads == [True, True]
    assert loaded.search("zebrafish harbour", 3)[0].document_id == "z.md"


@pytest.mark.parametrize("where", ["a regular file", "below a regular file", "read-only"])
def test_an_unusable_snapshot_dir_keeps_the_index_in_memory_and_writes_answer(
    tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    snapshot_dir = tmp_path / "bm25"
    if where == "a regular file":
        snapshot_dir.write_text("not a directory")
    elif where == "below a regular file":
        (tmp_path / "file").write_text("not a directory")
        snapshot_dir = tmp_path / "file" / "bm25"
    settings = make_settings(
        tmp_path / "data", bm25_snapshot_dir=snapshot_dir, admin_api_keys=ADMIN_KEY
    )
    run_ingest(settings, embedder, [SAMPLE_CORPUS])
    with ExitStack() as stack:
        if where == "read-only":
            stack.enter_context(tmpfs(snapshot_dir, "1m", "ro"))
        stack.enter_context(caplog.at_level(logging.INFO))
        base_url = stack.enter_context(serve_app(create_app(settings, embedder=embedder)))
        api = stack.enter_context(httpx.Client(base_url=base_url, timeout=60, headers=ADMIN))

        files = {"file": ("z.md", "Zebrafish were found in the harbour of Haiti.")}
        assert api.post("/api/documents", files=files).status_code == 201
        hits = api.get("/api/search", params={"q": "zebrafish harbour"}).json()["results"]
        assert hits[0]["document_id"] == "z.md"
        assert api.delete("/api/documents/z.md").status_code == 204
        assert api.get("/api/documents/z.md").status_code == 404
        hits = api.get("/api/search", params={"q": "zebrafish harbour"}).json()["results"]
        assert "z.md" not in {hit["document_id"] for hit in hits}

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in warnings] == ["BM25 snapshots off"]
    assert str(snapshot_dir) in warnings[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)  # no traceback
