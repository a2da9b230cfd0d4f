"""The scale benchmark's parts, on a tiny store: stand-in embeddings and one row of figures."""

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.helpers import load_benchmark


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("bench_scale")


def test_stand_in_embeddings_are_deterministic_and_favour_shared_words(bench: ModuleType) -> None:
    first, second = bench.HashedEmbedder(), bench.HashedEmbedder()
    texts = ["haiti mission funding", "haiti mission police", "railway bridge flood"]
    vectors = first.embed(texts)
    assert np.array_equal(vectors, second.embed(texts))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_a_row_on_a_tiny_store_has_every_figure(bench: ModuleType, tmp_path: Path) -> None:
    embedder = bench.HashedEmbedder()
    with bench.embeddings_stub(embedder) as stub:
        row = bench.measure_row("disk", 80, tmp_path, embedder, stub, rounds=1)

    assert set(bench.FIELDS) <= set(row)
    assert row["mode"] == "disk" and row["chunks"] == 80
    assert 0 < row["ready_s"] <= row["lexical_s"]
    assert 0 < row["search_p50_ms"] <= row["search_p95_ms"]
    assert row["rss_mb"] > 0 and row["disk_mb"] > 0 and row["refresh_s"] > 0
    assert 0 < row["restart_ready_s"] <= row["restart_lexical_s"]
