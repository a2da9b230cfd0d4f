import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingestion import pipeline
from ingestion.embeddings import ChunkVectors, Embedder, LocalEmbedder, Span
from ingestion.sentences import (
    METADATA_KEY,
    embed_with_sentences,
    read_sentence_vectors,
    split_sentences,
)
from ingestion.store import ChunkStore
from service.settings import Settings
from service.wiring import open_store
from tests.helpers import built_pdf, copy_corpus, make_settings, run_ingest, run_upload

MAY = "2025-05-23-us-signals-end-of-haiti-mission-funding.md"
FEB = "2025-02-07-us-exempts-haiti-mission-from-aid-freeze.md"
OLD = "2023-09-23-us-offers-100m-for-kenya-led-haiti-mission.md"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return copy_corpus(tmp_path / "corpus")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


def store_of(settings: Settings, embedder: Embedder) -> ChunkStore:
    return open_store(settings, embedder.name)


def chunks_by_document(store: ChunkStore) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for chunk in store.iter_chunks():
        result.setdefault(chunk.metadata["document_id"], set()).add(chunk.chunk_id)
    return result


def test_chunks_carry_metadata_and_offsets(
    corpus: Path, settings: Settings, embedder: Embedder
) -> None:
    run_ingest(settings, embedder, [corpus])
    text = (corpus / MAY).read_text()
    body = text.split("---\n", 2)[2].strip()
    chunks = [c for c in store_of(settings, embedder).iter_chunks(True) if MAY in c.chunk_id]
    assert len(chunks) >= 2
    for chunk in chunks:
        meta = chunk.metadata
        assert meta["document_id"] == MAY
        assert meta["published"] == "2025-05-23"
        assert meta["source"].startswith("https://theamericansdigest.com/")
        assert meta["title"].startswith("Haiti calls for regional help")
        assert body[meta["start"] : meta["end"]] == chunk.text
        assert chunk.chunk_id == f"{MAY}::{meta['doc_hash'][:16]}::{meta['chunk_index']}"


def test_reingest_of_unchanged_corpus_embeds_nothing(
    corpus: Path, settings: Settings, embedder: Embedder
) -> None:
    first = run_ingest(settings, embedder, [corpus])
    assert (first.new, first.unchanged, first.failed) == (3, 0, [])
    assert first.chunks_embedded > 0
    before = chunks_by_document(store_of(settings, embedder))

    second = run_ingest(settings, embedder, [corpus])

    assert (second.new, second.changed, second.unchanged, second.chunks_embedded) == (0, 0, 3, 0)
    assert chunks_by_document(store_of(settings, embedder)) == before


def test_changed_file_replaces_exactly_its_chunks(
    corpus: Path, settings: Settings, embedder: Embedder
) -> None:
    run_ingest(settings, embedder, [corpus])
    before = chunks_by_document(store_of(settings, embedder))
    path = corpus / FEB
    path.write_text(path.read_text().replace("Ruto", "President Ruto", 1) + "\nA new line.\n")

    report = run_ingest(settings, embedder, [corpus])

    after = chunks_by_document(store_of(settings, embedder))
    assert (report.changed, report.unchanged) == (1, 2)
    assert report.chunks_embedded == len(after[FEB])
    assert after[FEB].isdisjoint(before[FEB])
    assert {d: c for d, c in after.items() if d != FEB} == {
        d: c for d, c in before.items() if d != FEB
    }


def test_run_killed_between_write_and_cleanup_converges(
    corpus: Path, settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_ingest(settings, embedder, [corpus])
    before = chunks_by_document(store_of(settings, embedder))
    path = corpus / FEB
    path.write_text(path.read_text() + "\nAn update.\n")

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ChunkStore, "delete_document", killed)
        with pytest.raises(KeyboardInterrupt):
            run_ingest(settings, embedder, [corpus])
    assert before[FEB] < chunks_by_document(store_of(settings, embedder))[FEB]  # both versions

    report = run_ingest(settings, embedder, [corpus])

    after = chunks_by_document(store_of(settings, embedder))
    assert report.changed == 1
    assert after[FEB].isdisjoint(before[FEB])
    assert all(c.split("::")[1] == next(iter(after[FEB])).split("::")[1] for c in after[FEB])


def test_run_killed_mid_write_converges(
    corpus: Path, settings: Settings, embedder: Embedder
) -> None:
    run_ingest(settings, embedder, [corpus])
    store = store_of(settings, embedder)
    partial = [c for c in store.iter_chunks(True) if FEB in c.chunk_id][:1]
    store.collection.delete(ids=[c.chunk_id for c in partial])  # as if the write was cut short

    report = run_ingest(settings, embedder, [corpus])

    assert (report.changed, report.unchanged) == (1, 2)
    stored = store_of(settings, embedder).documents()[FEB]
    assert stored.is_complete(next(iter(stored.hashes)))


def test_bad_files_are_reported_and_nothing_stored_is_lost(
    corpus: Path, settings: Settings, embedder: Embedder
) -> None:
    run_ingest(settings, embedder, [corpus])
    before = chunks_by_document(store_of(settings, embedder))
    (corpus / FEB).write_text("---\ntitle: [broken\n---\nnew text\n")
    (corpus / "empty.md").write_text("")
    (corpus / "new.md").write_text("---\ntitle: New\npublished: 2025-06-01\n---\nFresh news.\n")

    report = run_ingest(settings, embedder, [corpus])

    reasons = {Path(p).name: r for p, r in report.failed}
    assert set(reasons) == {FEB, "empty.md"}
    assert "malformed front matter" in reasons[FEB]
    assert "no text" in reasons["empty.md"]
    assert report.new == 1
    after = chunks_by_document(store_of(settings, embedder))
    assert after[FEB] == before[FEB]  # the broken new version does not destroy the old one
    assert "new.md" in after


def test_hostile_files_fail_alone_and_the_others_are_stored(
    corpus: Path, tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    bomb = "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\nb: [*a, *a]\n---\nx\n"
    (corpus / "bomb.md").write_text(bomb)
    (corpus / "deep.md").write_text(f"---\nt: {'[' * 30000}{']' * 30000}\n---\nx\n")
    (corpus / "big.txt").write_text("haiti " * 2000)
    (corpus / "title.md").write_text("---\ntitle: [a, b]\n---\nx\n")
    (corpus / "spoof-\u202etxt.md").write_text("x")
    (corpus / "hostname.md").symlink_to("/etc/hostname")
    (corpus / "loop.md").symlink_to(corpus / "loop.md")
    Path(os.fsdecode(bytes(corpus) + b"/bad-\xff.md")).write_text("x")
    settings = settings.model_copy(update={"max_file_bytes": 10_000})

    report = run_ingest(settings, embedder, [corpus])

    assert report.new == 3
    assert len(report.failed) == 8
    assert sorted(store_of(settings, embedder).documents()) == sorted([FEB, MAY, OLD])


def test_a_missing_path_stores_and_prunes_nothing(
    corpus: Path, settings: Settings, embedder: Embedder
) -> None:
    run_ingest(settings, embedder, [corpus])
    extra = corpus.parent / "extra"
    extra.mkdir()
    (extra / "new.md").write_text("Fresh news.")
    typo = corpus.parent / (corpus.name + "s")

    with pytest.raises(FileNotFoundError, match=f"{typo}: no such file or folder"):
        run_ingest(settings, embedder, [extra, typo], prune=True)

    assert sorted(store_of(settings, embedder).documents()) == sorted([FEB, MAY, OLD])


def test_prune_removes_documents_whose_files_are_gone(
    corpus: Path, settings: Settings, embedder: Embedder
) -> None:
    run_ingest(settings, embedder, [corpus])
    (corpus / FEB).unlink()

    kept = run_ingest(settings, embedder, [corpus])
    assert kept.pruned == 0 and FEB in store_of(settings, embedder).documents()

    pruned = run_ingest(settings, embedder, [corpus], prune=True)
    assert pruned.pruned == 1
    assert sorted(store_of(settings, embedder).documents()) == sorted(
        p.name for p in corpus.iterdir()
    )


def test_prune_stays_inside_the_folders_given(
    corpus: Path, tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)
    (other / "b.md").write_text("Other folder, kept.")
    (other / "sub" / "c.md").write_text("Other subfolder, kept.")
    run_ingest(settings, embedder, [corpus])
    run_ingest(settings, embedder, [other])

    one_file = run_ingest(settings, embedder, [corpus / MAY], prune=True)
    assert one_file.pruned == 0
    subfolder = run_ingest(settings, embedder, [other / "sub"], prune=True)
    assert subfolder.pruned == 0 and subfolder.new == 1  # sub/c.md is c.md from there
    (corpus / FEB).unlink()
    (other / "sub" / "c.md").unlink()
    pruned = run_ingest(settings, embedder, [corpus], prune=True)
    assert pruned.pruned == 1
    assert sorted(store_of(settings, embedder).documents()) == sorted(
        ["b.md", "c.md", "sub/c.md", MAY, OLD]
    )
    pruned = run_ingest(settings, embedder, [other], prune=True)
    assert pruned.pruned == 2  # sub/c.md, and c.md ingested from other/sub
    assert sorted(store_of(settings, embedder).documents()) == sorted(["b.md", MAY, OLD])


def test_a_moved_folder_takes_its_documents_over_with_replace(
    corpus: Path, tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    run_ingest(settings, embedder, [corpus])
    moved = corpus.rename(tmp_path / "moved")
    refused = run_ingest(settings, embedder, [moved])
    assert (refused.unchanged, len(refused.failed)) == (0, 3)
    assert refused.failed[0][1] == (
        f"id {OLD!r} is held by the folder {corpus}: not replaced (--replace replaces it)"
    )
    assert run_ingest(settings, embedder, [moved], replace=True).unchanged == 3
    (moved / FEB).unlink()
    assert run_ingest(settings, embedder, [moved], prune=True).pruned == 1


def test_uploads_and_folders_never_replace_or_prune_each_other(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    folder, other = tmp_path / "folder", tmp_path / "other"
    folder.mkdir()
    other.mkdir()
    run_upload(settings, embedder, "memo.md", "The upload says the bridge opened in May.")
    (folder / "memo.md").write_text("The folder says the bridge opened in June.")
    (folder / "same.md").write_text("The same text in two places.")
    (other / "same.md").write_text("The same text in two places.")
    run_upload(settings, embedder, "kept.md", "An upload nobody else touches.")
    (folder / "kept.md").write_text("An upload nobody else touches.")  # identical content

    first = run_ingest(settings, embedder, [folder])
    assert first.new == 1  # same.md
    assert sorted(reason for _, reason in first.failed) == [
        "id 'kept.md' is held by an upload: not replaced (--replace replaces it)",
        "id 'memo.md' is held by an upload: not replaced (--replace replaces it)",
    ]
    assert run_ingest(settings, embedder, [other]).failed == [
        (
            str(other / "same.md"),
            f"id 'same.md' is held by the folder {folder}: not replaced (--replace replaces it)",
        )
    ]
    for file in (folder / "memo.md", folder / "kept.md", other / "same.md"):
        file.unlink()
    assert run_ingest(settings, embedder, [folder], prune=True).pruned == 0
    assert run_ingest(settings, embedder, [other], prune=True).pruned == 0
    texts = store_of(settings, embedder).document_texts()
    assert texts == {
        "memo.md": "The upload says the bridge opened in May.",
        "kept.md": "An upload nobody else touches.",
        "same.md": "The same text in two places.",
    }
    documents = store_of(settings, embedder).documents()
    assert {d: (doc.origin, doc.folder) for d, doc in documents.items()} == {
        "memo.md": ("upload", ""),
        "kept.md": ("upload", ""),
        "same.md": ("folder", str(folder)),
    }


def test_replace_takes_an_upload_over_and_prune_then_removes_it(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "memo.md").write_text("The folder says the bridge opened in June.")
    run_upload(settings, embedder, "memo.md", "The upload says the bridge opened in May.")
    assert run_ingest(settings, embedder, [folder], replace=True).changed == 1
    assert store_of(settings, embedder).document_texts()["memo.md"].endswith("in June.")
    (folder / "memo.md").unlink()
    assert run_ingest(settings, embedder, [folder], prune=True).pruned == 1


def test_documents_stored_before_owners_were_recorded_keep_working(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    """Chunks with no ``origin``: a folder claims those of no folder; those with a folder
    belong to it."""
    unknown, foldered = tmp_path / "unknown", tmp_path / "foldered"
    unknown.mkdir()
    foldered.mkdir()
    (unknown / "old.md").write_text("Stored by an older version.")
    (foldered / "dated.md").write_text("Stored from a folder by an older version.")
    run_ingest(settings, embedder, [unknown])
    run_ingest(settings, embedder, [foldered])
    store = store_of(settings, embedder)
    legacy = store.collection.get(include=["metadatas", "documents", "embeddings"])
    metadatas: list[Any] = []
    for meta in legacy["metadatas"] or []:
        old = {k: v for k, v in meta.items() if k != "origin"}
        metadatas.append(old | ({"folder": ""} if old["document_id"] == "old.md" else {}))
    store.collection.delete(ids=legacy["ids"])
    store.collection.add(
        ids=legacy["ids"],
        metadatas=metadatas,
        documents=legacy["documents"],
        embeddings=legacy["embeddings"],
    )
    documents = store_of(settings, embedder).documents()
    assert {d: doc.origin for d, doc in documents.items()} == {"old.md": "", "dated.md": "folder"}

    (unknown / "old.md").write_text("Changed since.")
    assert run_ingest(settings, embedder, [unknown]).changed == 1  # claimed, as before
    (unknown / "old.md").unlink()
    assert run_ingest(settings, embedder, [unknown], prune=True).pruned == 1
    (foldered / "dated.md").unlink()
    assert run_ingest(settings, embedder, [foldered], prune=True).pruned == 1


def test_a_pdf_past_the_limits_is_skipped_and_the_rest_stored(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "bomb.pdf").write_bytes(built_pdf(["Page"], fanout=200, depth=2))
    (folder / "fine.md").write_text("A fine file.")
    report = run_ingest(settings, embedder, [folder])
    assert report.new == 1
    reason = "more than 2000 pages (CITECHAT_MAX_PDF_PAGES)"
    assert report.failed == [(str(folder / "bomb.pdf"), reason)]


def test_duplicate_document_ids_in_one_run_are_rejected(
    tmp_path: Path, settings: Settings, embedder: Embedder
) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.md").write_text(f"Text from folder {folder}.")
    report = run_ingest(settings, embedder, [tmp_path / "a", tmp_path / "b"])
    assert report.new == 1
    assert [r for _, r in report.failed] == ["duplicate document id 'same.md'"]


def test_server_mode_ingests_into_a_chroma_server(
    corpus: Path, tmp_path: Path, embedder: Embedder, chroma_address: tuple[str, int]
) -> None:
    host, port = chroma_address
    settings = make_settings(
        tmp_path / "unused", chroma_host=host, chroma_port=port, collection="pipeline-test"
    )
    first = run_ingest(settings, embedder, [corpus])
    second = run_ingest(settings, embedder, [corpus])
    assert (first.new, second.unchanged, second.chunks_embedded) == (3, 3, 0)
    assert len(store_of(settings, embedder).documents()) == 3
    assert not (tmp_path / "unused").exists()


class _Recording:
    """The real embedder, recording the texts of each batch it is given."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.batches: list[list[str]] = []
        self.chunk_vectors: list[ChunkVectors] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.batches.append(texts)
        return self.inner.embed_documents(texts)

    def embed_chunks(self, texts: list[str], spans: list[list[Span]]) -> list[ChunkVectors]:
        self.batches.append(texts)
        self.chunk_vectors = self.inner.embed_chunks(texts, spans)
        return self.chunk_vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def load(self) -> None:
        self.inner.load()


def test_chunks_are_embedded_longest_first_and_keep_their_own_vectors(
    corpus: Path, settings: Settings, embedder: Embedder
) -> None:
    recording = _Recording(embedder)
    run_ingest(settings, recording, [corpus])

    [texts] = recording.batches  # one round, one encoding: sentences come from the same pass
    assert [len(t) for t in texts] == sorted((len(t) for t in texts), reverse=True)
    # the chunk vectors are exactly what embed_documents gives, so dense search is unchanged
    assert [v.chunk for v in recording.chunk_vectors] == embedder.embed_documents(texts)
    stored = store_of(settings, embedder).collection.get(include=["documents", "embeddings"])
    expected = embedder.embed_documents(stored["documents"] or [])
    assert stored["embeddings"] is not None
    for vector, want in zip(stored["embeddings"], expected, strict=True):
        assert float(np.dot(vector, want)) > 0.999


def _pooled_tokens(model: LocalEmbedder, text: str, span: Span) -> np.ndarray:
    """Reference: the mean of the tokens of ``text`` inside ``span``, encoded on its own."""
    encoder = model._model
    tokens = encoder.encode(text, output_value="token_embeddings", convert_to_numpy=True)
    offsets = encoder.tokenizer(
        text, return_offsets_mapping=True, truncation=True, max_length=encoder.max_seq_length
    )["offset_mapping"]
    inside = [i for i, (s, e) in enumerate(offsets) if e > s and span[0] <= s < span[1]]
    mean = np.asarray(tokens[inside], np.float32).mean(axis=0)
    normalised: np.ndarray = mean / np.linalg.norm(mean)
    return normalised


def test_each_chunk_stores_its_sentences_pooled_from_its_own_tokens(
    corpus: Path, settings: Settings, embedder: Embedder
) -> None:
    assert isinstance(embedder, LocalEmbedder)
    run_ingest(settings, embedder, [corpus])

    stored = store_of(settings, embedder).collection.get(include=["documents", "metadatas"])
    for text, meta in zip(stored["documents"] or [], stored["metadatas"] or [], strict=True):
        vectors = read_sentence_vectors(str(meta[METADATA_KEY]))
        spans = split_sentences(text)
        assert list(vectors) == spans
        for span in spans:
            want = _pooled_tokens(embedder, text, span)
            assert float(np.dot(vectors[span], want)) > 0.99  # stored as float16
    assert read_sentence_vectors("not json") == {}  # an unreadable value reads as none


def test_a_version_stored_while_another_is_embedded_is_kept(
    tmp_path: Path, settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload that lands while a folder's file is embedded wins, and the other way round."""
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "memo.md").write_text("The folder says the bridge opened in June.")
    (folder / "other.md").write_text("Another file of the folder.")
    racing = [lambda: run_upload(settings, embedder, "memo.md", "The upload says May.")]

    def embed_racing(texts: list[str], model: Embedder) -> Any:
        while racing:
            racing.pop()()  # another writer, between this writer's read and its write
        return embed_with_sentences(texts, model)

    monkeypatch.setattr(pipeline, "embed_with_sentences", embed_racing)
    report = run_ingest(settings, embedder, [folder])
    assert (report.new, report.failed) == (1, [(str(folder / "memo.md"), pipeline.RACED)])
    texts = store_of(settings, embedder).document_texts()
    assert texts == {"memo.md": "The upload says May.", "other.md": "Another file of the folder."}

    (folder / "late.md").write_text("The folder's late file.")
    racing.append(lambda: run_ingest(settings, embedder, [folder]))
    with pytest.raises(pipeline.WrittenMeanwhile, match="'late.md' stored meanwhile"):
        run_upload(settings, embedder, "late.md", "The upload of a late file.")
    assert store_of(settings, embedder).document_texts()["late.md"] == "The folder's late file."
