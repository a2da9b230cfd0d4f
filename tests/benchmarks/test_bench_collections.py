"""The collections benchmark on a tiny store: every figure, once each collection finds chunks
(``measure`` raises otherwise)."""

from pathlib import Path

from tests.helpers import load_benchmark


def test_a_run_on_tiny_collections_has_every_figure(tmp_path: Path) -> None:
    bench = load_benchmark("bench_collections")
    scale = load_benchmark("bench_scale")
    embedder = scale.HashedEmbedder()
    with scale.embeddings_stub(embedder) as stub:
        row = bench.run(tmp_path, embedder, stub, collections=3, chunks=80, rounds=1)
    assert row["chunks_small"] == 80 and row["chunks_large"] == 240
    assert row["searches_each"] == len(scale.QUERIES)
    assert row["large_p95_ms"] > 0 and row["small_p95_ms"] > 0
    assert row["ratio"] == row["small_p95_ms"] / row["large_p95_ms"]
    assert (tmp_path / "replica.log").exists()
