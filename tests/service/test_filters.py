"""Filters apply inside retrieval, on both sides, and on a store written before they existed."""

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from ingestion.embeddings import Embedder
from ingestion.filter_fields import FLAG, PUBLISHED_DAY, SOURCE_HOST
from ingestion.store import UPLOAD, ChunkStore
from service.filters import Filters
from service.lexical import LexicalChunk, LexicalIndex
from service.retrieval import Retriever
from service.settings import Settings
from service.wiring import build_components, open_store
from tests.helpers import make_settings, run_ingest

QUERY = "lighthouse keeper harbour lamp"
STRONG = 24  # more than the candidates of a k=2 search (20): a post-filter would find none
OLD = {"old-0.md", "old-1.md"}


def write_corpus(folder: Path) -> Path:
    """24 recent articles all about the query, two old ones that only mention it, one undated
    and one on a subdomain; a chunk each."""
    folder.mkdir()
    for i in range(STRONG):
        article(
            folder / f"new-{i}.md",
            f"2024-06-{i + 1:02d}",
            f"https://www.daily.example.com/{i}",
            f"The lighthouse keeper of the harbour repaired the lighthouse lamp. Keeper number "
            f"{i} guards the harbour lighthouse lamp every night.",
        )
    for i in range(2):
        article(
            folder / f"old-{i}.md",
            f"2019-03-0{i + 1}",
            f"https://archive.example.org/{i}",
            f"Fishermen met at the market on day {i}; the mayor spoke of taxes, and once of "
            "the lighthouse.",
        )
    article(folder / "undated.md", "", "Radio notes", "A lighthouse keeper spoke on the radio.")
    article(
        folder / "sport.md",
        "2024-07-01",
        "https://sport.daily.example.com/1",
        "The harbour lighthouse race was won by the keeper's daughter.",
    )
    return folder


def article(path: Path, published: str, source: str, text: str) -> None:
    dated = f"published: {published}\n" if published else ""
    path.write_text(f"---\ntitle: {path.stem}\nsource: {source}\n{dated}---\n\n{text}\n")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    tmp = tmp_path_factory.mktemp("filters")
    settings = make_settings(tmp / "data")
    report = run_ingest(settings, embedder, [write_corpus(tmp / "corpus")])
    assert not report.failed and report.new == STRONG + 4
    return settings


def retriever(settings: Settings, embedder: Embedder, mode: str) -> Retriever:
    found = build_components(settings.model_copy(update={"retrieval_mode": mode}), embedder)
    found.retriever.refresh()
    return found.retriever


def scored(retriever: Retriever, filters: Filters | None) -> list[tuple[str, float]]:
    return [(p.chunk_id, round(p.score, 9)) for p in retriever.search(QUERY, 5, filters=filters)]


def documents(retriever: Retriever, k: int, **filters: Any) -> list[str]:
    return [p.document_id for p in retriever.search(QUERY, k, filters=Filters(**filters))]


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_a_date_filter_returns_k_passages_though_none_is_among_the_unfiltered_best(
    settings: Settings, embedder: Embedder, mode: str
) -> None:
    search = retriever(settings, embedder, mode)
    assert not OLD & set(documents(search, 20))  # a post-filter of the candidates finds none

    assert set(documents(search, 2, published_before="2019-12-31")) == OLD
    assert set(documents(search, 2, published_after="2019-03-01", published_before="2019-03-02"))
    assert documents(search, 5, published_after="2019-03-02", published_before="2019-03-02") == [
        "old-1.md"
    ]  # both bounds inclusive


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_a_source_host_filter_matches_the_host_with_or_without_www_but_not_its_subdomains(
    settings: Settings, embedder: Embedder, mode: str
) -> None:
    search = retriever(settings, embedder, mode)

    assert set(documents(search, 2, source_hosts=["archive.example.org"])) == OLD
    daily = documents(search, 30, source_hosts=["Daily.Example.com"])
    assert len(daily) == STRONG and all(d.startswith("new-") for d in daily)
    assert documents(search, 5, source_hosts=["sport.daily.example.com"]) == ["sport.md"]
    both = set(
        documents(search, 30, source_hosts=["sport.daily.example.com", "archive.example.org"])
    )
    assert both == OLD | {"sport.md"}


def test_document_ids_and_combined_filters_admit_only_what_all_of_them_do(
    settings: Settings, embedder: Embedder
) -> None:
    search = retriever(settings, embedder, "hybrid")

    assert set(documents(search, 5, document_ids=["old-1.md", "undated.md"])) == {
        "old-1.md",
        "undated.md",
    }
    assert documents(
        search, 5, document_ids=["old-1.md", "new-3.md"], source_hosts=["archive.example.org"]
    ) == ["old-1.md"]
    assert documents(search, 5, document_ids=["new-3.md"], published_before="2020-01-01") == []


def test_an_undated_document_passes_no_date_filter_however_wide(
    settings: Settings, embedder: Embedder
) -> None:
    search = retriever(settings, embedder, "hybrid")
    assert "undated.md" in documents(search, 30)

    assert "undated.md" not in documents(search, 30, published_before="2100-01-01")
    assert "undated.md" not in documents(search, 30, published_after="1900-01-01")


def test_bm25_scores_only_the_rows_and_changed_chunks_a_filter_admits() -> None:
    chunks = [
        LexicalChunk(f"d{i}.md::0", f"d{i}.md", "lighthouse " * (5 - i) + "keeper", day, host)
        for i, (day, host) in enumerate(
            [(20240101, "a.com"), (20240102, "a.com"), (20190101, "b.com"), (0, "")]
        )
    ]
    index = LexicalIndex(chunks)

    assert [c for c, _ in index.search("lighthouse", 1)] == ["d0.md::0"]
    assert [
        c
        for c, _ in index.search("lighthouse", 1, index.admission(Filters(source_hosts=["b.com"])))
    ] == ["d2.md::0"]
    before = Filters(published_before="2023-12-31")
    assert [c for c, _ in index.search("lighthouse", 5, index.admission(before))] == ["d2.md::0"]
    changed = index.updated(
        {"d2.md"}, [LexicalChunk("d2.md::1", "d2.md", "lighthouse", 20240105, "b.com")]
    )
    assert (
        changed.search("lighthouse", 5, changed.admission(before)) == []
    )  # the new version is not from 2023
    assert [
        c
        for c, _ in changed.search(
            "lighthouse", 5, changed.admission(Filters(published_after="2024-01-04"))
        )
    ] == ["d2.md::1"]


@pytest.mark.parametrize(
    ("filters", "error"),
    [
        ({"published_after": "2024-02-01", "published_before": "2024-01-31"}, "later than"),
        ({"published_after": "2024-02-30"}, "out of range"),
        ({"published_after": "1 March 2024"}, "YYYY-MM-DD"),
        ({"published_after": "2024-03-01T00:00"}, "YYYY-MM-DD"),
        ({"source_hosts": []}, "at least 1"),
        ({"source_hosts": ["http://"]}, "not a host name"),
        ({"document_ids": [f"d{i}" for i in range(101)]}, "at most 100"),
        ({"document_id": ["a"]}, "Extra inputs"),
    ],
)
def test_a_malformed_filter_is_refused(filters: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        Filters.model_validate(filters)


def written_before_filters(settings: Settings, embedder: Embedder, corpus: Path) -> ChunkStore:
    """A store holding ``corpus`` as a version before filters wrote it: no filter fields on
    the chunks, no mark on the collection."""
    run_ingest(settings, embedder, [write_corpus(corpus)])
    store = open_store(settings, embedder.name)
    ids = store.collection.get(include=[])["ids"]
    store.collection.update(
        ids=ids, metadatas=[{PUBLISHED_DAY: None, SOURCE_HOST: None}] * len(ids)
    )
    metadata = dict(store.client.get_collection(store.collection.name).metadata or {})
    store.collection.modify(metadata={k: v for k, v in metadata.items() if k != FLAG})
    return store


def test_a_store_written_before_filters_is_backfilled_once_and_keeps_its_data(
    tmp_path: Path, embedder: Embedder
) -> None:
    old = make_settings(tmp_path / "data")
    store = written_before_filters(old, embedder, tmp_path / "corpus")
    before = store.collection.get(include=["metadatas", "documents", "embeddings"])
    assert not any(PUBLISHED_DAY in m for m in before["metadatas"] or [])
    assert not store.state().filterable

    search = retriever(old, embedder, "dense")

    assert set(documents(search, 2, published_before="2019-12-31")) == OLD
    assert store.state().filterable
    after = store.collection.get(
        ids=before["ids"], include=["metadatas", "documents", "embeddings"]
    )
    assert after["documents"] == before["documents"]
    assert np.array_equal(np.asarray(after["embeddings"]), np.asarray(before["embeddings"]))
    for was, now in zip(before["metadatas"] or [], after["metadatas"] or [], strict=True):
        assert {k: v for k, v in now.items() if k not in (PUBLISHED_DAY, SOURCE_HOST)} == was
    days = {m["document_id"]: m[PUBLISHED_DAY] for m in after["metadatas"] or []}
    assert days["old-1.md"] == 20190302 and days["undated.md"] == 0
    assert store.backfill() == 0  # marked: not read again
    store.bump_revision()
    assert store.state().filterable  # a later write keeps the mark


def test_filters_and_the_backfill_work_on_a_chroma_server(
    tmp_path: Path, embedder: Embedder, chroma_address: tuple[str, int]
) -> None:
    host, port = chroma_address
    old = make_settings(tmp_path, chroma_host=host, chroma_port=port, collection="filters-test")
    written_before_filters(old, embedder, tmp_path / "corpus")

    for mode in ("hybrid", "dense"):
        search = retriever(old, embedder, mode)
        assert set(documents(search, 2, published_before="2019-12-31")) == OLD
        assert documents(search, 5, source_hosts=["sport.daily.example.com"]) == ["sport.md"]


def test_a_bm25_snapshot_saved_before_filters_loads_and_filters(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    first = retriever(settings, embedder, "hybrid")
    [path] = sorted(settings.bm25_snapshot_path.glob("*/*"))
    rows = json.loads((path / "rows.json").read_text())
    del rows["days"], rows["hosts"]  # as written before filters
    (path / "rows.json").write_text(json.dumps(rows))
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["rows.json"] = hashlib.sha256((path / "rows.json").read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))

    loaded = retriever(settings, embedder, "hybrid")

    assert "days" not in json.loads((path / "rows.json").read_text())  # loaded, not rebuilt
    for filters in (
        Filters(published_before="2019-12-31"),
        Filters(source_hosts=["archive.example.org"]),
        None,
    ):
        assert scored(loaded, filters) == scored(first, filters)  # BM25's share included
    assert set(documents(loaded, 2, published_before="2019-12-31")) == OLD


def test_a_backfill_beside_a_writer_loses_none_of_its_writes(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path / "data")
    store = written_before_filters(settings, embedder, tmp_path / "corpus")
    writer = open_store(settings, embedder.name)
    generation = store.state().generation  # where a replica following the store is
    update = store.collection.update

    def meanwhile(**arguments: Any) -> None:
        """Between the backfill's read of a page and its update, a writer deletes a document
        and takes over another, and publishes."""
        writer.delete_document("old-0.md")
        writer.set_owner("new-1.md", UPLOAD, "")
        writer.bump_revision()
        update(**arguments)

    monkeypatch.setattr(store.collection, "update", meanwhile)

    assert store.backfill() == STRONG + 4  # the deleted chunk too: its update did nothing

    assert store.collection.get(where={"document_id": "old-0.md"}, include=[])["ids"] == []
    [owned] = store.collection.get(where={"document_id": "new-1.md"})["metadatas"] or []
    assert (owned["origin"], owned["folder"], owned[PUBLISHED_DAY]) == (UPLOAD, "", 20240602)
    state = store.state()
    assert state.filterable and state.generation == generation + 2
    assert state.changed_since(generation) is None  # a follower reads the whole store again
    monkeypatch.undo()
    search = retriever(settings, embedder, "hybrid")
    assert documents(search, 2, published_before="2019-12-31") == ["old-1.md"]


def test_a_chunk_deleted_since_the_index_listed_it_leaves_the_filtered_search_working(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(tmp_path / "data")
    run_ingest(settings, embedder, [write_corpus(tmp_path / "corpus")])
    search = retriever(settings, embedder, "hybrid")
    assert set(documents(search, 2, published_before="2019-12-31")) == OLD

    open_store(settings, embedder.name).delete_document("old-0.md")  # not yet published

    assert documents(search, 2, published_before="2019-12-31") == ["old-1.md"]
