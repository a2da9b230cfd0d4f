"""The sync benchmark's own run, on a tiny site: every page stored, the second run embeds
nothing, and the figures it reports are consistent."""

from pathlib import Path

from ingestion.embeddings import Embedder
from tests.helpers import load_benchmark


def test_the_sync_benchmark_measures_a_first_and_an_unchanged_sync(
    tmp_path: Path, embedder: Embedder
) -> None:
    result = load_benchmark("sync").measure(4, tmp_path, embedder)
    assert (result["stored"], result["failed"], result["unchanged_embedded"]) == (4, 0, 0)
    assert result["chunks_embedded"] >= 4
    assert 0 < result["embedding_share"] < 1
    assert result["pages_per_second"] > 0
