from pathlib import Path

from ingestion.embeddings import Embedder
from service.wiring import open_store
from tests.helpers import copy_corpus, make_settings, run_ingest


def test_reingest_of_unchanged_corpus_embeds_nothing(tmp_path: Path, embedder: Embedder) -> None:
    corpus = copy_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path / "data")
    first = run_ingest(settings, embedder, [corpus])
    assert (first.new, first.unchanged, first.failed) == (3, 0, [])
    assert first.chunks_embedded > 0
    ids_before = set(open_store(settings, embedder.name).collection.get()["ids"])

    second = run_ingest(settings, embedder, [corpus])

    assert (second.new, second.changed, second.unchanged, second.chunks_embedded) == (0, 0, 3, 0)
    assert set(open_store(settings, embedder.name).collection.get()["ids"]) == ids_before
