"""The benchmark's own parts: the generated corpus and the interleaved latency measurement."""

from pathlib import Path
from types import ModuleType

import pytest

from ingestion.embeddings import Embedder
from ingestion.loaders import discover, load_document
from service.settings import Settings
from service.wiring import build_components
from tests.helpers import load_benchmark

LIMITS = Settings(_env_file=None).file_limits


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("bench")


def test_generated_corpus_is_seeded_and_holds_the_chunks_asked_for(
    bench: ModuleType, tmp_path: Path
) -> None:
    splitter = bench.bench_splitter(bench.bench_settings(tmp_path))
    bench.generate_corpus(tmp_path / "a", 40, splitter)
    bench.generate_corpus(tmp_path / "b", 40, splitter)

    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.md"))
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.md"))
    assert all((tmp_path / "a" / f).read_text() == (tmp_path / "b" / f).read_text() for f in files)
    assert len(bench.chunk_texts(tmp_path / "a", splitter, LIMITS)) >= 40
    found = discover(tmp_path / "a").files
    docs = [load_document(f.path, f.document_id, LIMITS) for f in found]
    assert all(doc.title and doc.source and doc.published for doc in docs)


def test_latencies_time_search_against_the_floor(
    bench: ModuleType, sample_settings: Settings, embedder: Embedder
) -> None:
    components = build_components(sample_settings, embedder)
    figures = bench.latencies(components, bench.QUERIES[:2])

    assert figures["queries"] == 2 * bench.ROUNDS
    for name in ("floor", "search", "filtered"):
        assert 0 < figures[f"{name}_p50_ms"] <= figures[f"{name}_p95_ms"]
    assert figures["search_p50_ratio"] == figures["search_p50_ms"] / figures["floor_p50_ms"]
    assert figures["filter_p95_ratio"] == figures["filtered_p95_ms"] / figures["search_p95_ms"]
    has_answerer = getattr(components, "answerer", None) is not None
    assert ("chat_p95_ratio" in figures) == has_answerer
