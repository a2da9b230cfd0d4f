"""BM25 by chunk id, updated by document without rebuilding the base index."""

import pytest

from service.filters import Filters
from service.lexical import LexicalChunk, LexicalIndex

DOCS = {
    "a.md": ["Kenya pledged police officers to the Haiti mission.", "Gangs hold the capital."],
    "b.md": ["The United States froze foreign aid.", "A waiver exempted the mission."],
    "c.md": ["Fishermen in the harbour reported a calm season.", "Prices of fish rose."],
}


def chunks_of(docs: dict[str, list[str]]) -> list[LexicalChunk]:
    return [
        LexicalChunk(f"{doc}::{i}", doc, text)
        for doc, texts in docs.items()
        for i, text in enumerate(texts)
    ]


def test_an_update_replaces_a_document_s_chunks_and_leaves_the_old_index_as_it_was() -> None:
    index = LexicalIndex(chunks_of(DOCS))
    changed = chunks_of({"b.md": ["Zebrafish were seen in the harbour of Port-au-Prince."]})

    updated = index.updated({"b.md", "c.md"}, changed)  # b changed, c deleted

    assert [cid for cid, _ in updated.search("zebrafish harbour", 5)] == ["b.md::0"]
    assert updated.search("waiver exempted", 5) == []  # b's old chunk is gone
    assert updated.search("fishermen", 5) == []  # so is c
    assert len(updated) == 3
    assert [cid for cid, _ in index.search("waiver exempted", 5)] == ["b.md::1"]  # unchanged
    assert index.search("zebrafish", 5) == []


def test_an_added_document_scores_as_in_a_full_build() -> None:
    added = {"d.md": ["Kenya sent more police officers to the mission in the capital."]}
    full = dict(LexicalIndex(chunks_of(DOCS | added)).search("kenya police mission", 10))
    incremental = dict(
        LexicalIndex(chunks_of(DOCS))
        .updated({"d.md"}, chunks_of(added))
        .search("kenya police mission", 10)
    )
    assert incremental["d.md::0"] == pytest.approx(full["d.md::0"])
    assert list(incremental)[0] == list(full)[0]


def test_an_empty_index_finds_nothing_until_updated() -> None:
    index = LexicalIndex([])
    assert index.search("haiti", 5) == []
    updated = index.updated({"a.md"}, chunks_of({"a.md": DOCS["a.md"]}))
    assert [cid for cid, _ in updated.search("haiti", 5)] == ["a.md::0"]


def test_chunks_without_a_term_score_nothing_and_break_nothing() -> None:
    # found by the property test: only stop words in the delta made its average length 0
    empty = chunks_of({"a.md": ["The and of it."]})

    assert LexicalIndex([]).updated({"a.md"}, empty).search("kenya", 5) == []
    built = LexicalIndex(empty)  # a full build of such chunks only: bm25s refuses it
    assert built.search("kenya", 5) == [] and len(built) == 0
    assert [c for c, _ in built.updated(set(DOCS), chunks_of(DOCS)).search("kenya", 5)] == [
        "a.md::0"
    ]


def test_mentions_tells_whether_a_current_chunk_has_a_word() -> None:
    index = LexicalIndex(chunks_of(DOCS)).updated({"c.md"}, [])  # c deleted
    only_b = index.admission(Filters(document_ids=["b.md"]))

    assert index.mentions("Kenya's") is True
    assert index.mentions("Nigeria") is False
    assert index.mentions("Fishermen") is False  # only in a deleted document
    assert index.mentions("Kenya", only_b) is False  # not in the documents admitted
    assert index.mentions("waiver", only_b) is True
    assert index.mentions("4") is None  # no term BM25 keeps: cannot tell
