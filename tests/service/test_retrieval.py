"""The retriever follows the store's change log: one changed document, not the collection."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingestion.embeddings import Embedder
from ingestion.store import ChunkStore, StoredChunk
from service.settings import Settings
from service.wiring import build_components, open_store
from tests.helpers import copy_corpus, make_settings, run_ingest

MAY = "2025-05-23-us-signals-end-of-haiti-mission-funding.md"


def test_a_one_document_change_updates_bm25_without_reading_the_whole_store(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path / "data")
    corpus = copy_corpus(tmp_path / "corpus")
    run_ingest(settings, embedder, [corpus])
    retriever = build_components(settings, embedder).retriever
    retriever.refresh()
    full_reads: list[bool] = []
    iter_chunks = ChunkStore.iter_chunks

    def counted(self: ChunkStore, include_text: bool = False) -> Iterator[StoredChunk]:
        full_reads.append(include_text)
        return iter_chunks(self, include_text)

    monkeypatch.setattr(ChunkStore, "iter_chunks", counted)
    (corpus / "z.md").write_text("Zebrafish were found in the harbour of Port-au-Prince.")
    run_ingest(settings, embedder, [corpus])
    retriever.refresh()
    assert retriever.search("zebrafish harbour", 3)[0].document_id == "z.md"
    assert retriever.status().chunks == sum(
        1 for _ in iter_chunks(open_store(settings, embedder.name))
    )

    store = open_store(settings, embedder.name)
    store.delete_document(MAY)
    store.bump_revision()
    retriever.refresh()
    assert MAY not in {p.document_id for p in retriever.search("US ends Haiti mission funding", 10)}
    assert full_reads == [False]  # only the ingest's own listing of stored documents


def test_the_change_log_names_the_documents_changed_since_a_generation(tmp_path: Path) -> None:
    store = open_store(make_settings(tmp_path / "data"), "model")
    meta: dict[str, Any] = {"title": "t", "source": "s", "published": "", "doc_hash": "h"}
    for doc in ("a.md", "b.md"):
        store.upsert([f"{doc}::0"], ["text"], [[0.1, 0.2]], [meta | {"document_id": doc}])
        store.bump_revision()
    store.delete_document("a.md")
    store.bump_revision()

    state = store.state()
    assert state.generation == 3
    assert state.changed_since(3) == set()
    assert state.changed_since(2) == {"a.md"}
    assert state.changed_since(1) == {"a.md", "b.md"}
    assert state.changed_since(-1) is None  # older than the log: read everything again


def test_a_starting_replica_answers_dense_only_while_bm25_loads(
    tmp_path: Path, sample_settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    loading = threading.Event()
    iter_chunks = ChunkStore.iter_chunks

    def slow(self: ChunkStore, include_text: bool = False) -> Iterator[StoredChunk]:
        if include_text:
            loading.wait(timeout=60)
        return iter_chunks(self, include_text)

    monkeypatch.setattr(ChunkStore, "iter_chunks", slow)
    settings = sample_settings.model_copy(update={"bm25_snapshot_dir": tmp_path})  # none saved
    retriever = build_components(settings, embedder).retriever
    retriever.start(wait_seconds=0)
    try:
        assert retriever.status().lexical == "loading"
        passages = retriever.search("US withholds further funding", 3)
        assert len(passages) == 3 and all(p.similarity == p.score for p in passages)  # dense
        loading.set()
        deadline = time.monotonic() + 30
        while retriever.status().lexical != "ready":
            assert time.monotonic() < deadline, "BM25 never loaded"
            time.sleep(0.05)
        assert any(p.similarity != p.score for p in retriever.search("US funding", 3))  # fused
    finally:
        loading.set()
        retriever.stop()
