"""A replica loads the BM25 snapshot another one saved, and rebuilds when it cannot."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.embeddings import Embedder
from ingestion.store import CHANGE_LOG_LIMIT, ChunkStore, StoredChunk
from service.retrieval import Retriever
from service.settings import Settings
from service.wiring import build_components, open_store
from tests.helpers import copy_corpus, make_settings, run_ingest

MAY = "2025-05-23-us-signals-end-of-haiti-mission-funding.md"
QUERY = "US ends Haiti mission funding"


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
