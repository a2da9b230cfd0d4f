"""The retrieval comparison benchmark, on the sample corpus and its eval set."""

from ingestion.embeddings import Embedder
from service.evaluate.cases import load_eval_set
from service.settings import Settings
from service.wiring import build_components
from tests.helpers import PROJECT_DIR, SAMPLE_CORPUS, load_benchmark


def test_every_pipeline_finds_the_sample_sources(
    sample_settings: Settings, embedder: Embedder
) -> None:
    compare = load_benchmark("retrieval_compare").compare
    cases = load_eval_set(PROJECT_DIR / "eval_sets" / "haiti-mss.jsonl")
    cases = [c for c in cases if c.answerable and c.sources]
    components = build_components(sample_settings, embedder)

    rows = compare(SAMPLE_CORPUS, cases, 4, components)

    assert list(rows) == ["dense", "hybrid", "hybrid + time scope", "llama-index default"]
    for name, (hits, mrr) in rows.items():
        # three documents and four passages: a pipeline that works finds nearly every source
        assert hits >= 0.9, name
        assert 0.5 <= mrr <= 1.0, name
