"""The /v1 overhead benchmark's measurement, on a real server over HTTP."""

from types import ModuleType

import pytest

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from tests.helpers import load_benchmark, serve_app


@pytest.fixture(scope="module")
def overhead() -> ModuleType:
    return load_benchmark("openai_overhead")


def test_both_routes_are_timed_on_every_question(
    overhead: ModuleType, sample_settings: Settings, embedder: Embedder
) -> None:
    with serve_app(create_app(sample_settings, embedder=embedder)) as base_url:
        figures = overhead.measure(base_url, overhead.QUERIES[:2], rounds=2)

    assert figures["requests_per_route"] == 4
    for route in ("api_json", "v1_json", "api_stream", "v1_stream"):
        assert 0 < figures[f"{route}_p50_ms"] <= figures[f"{route}_p95_ms"]
    for kind in ("json", "stream"):
        ratio = figures[f"v1_{kind}_p50_ms"] / figures[f"api_{kind}_p50_ms"]
        assert figures[f"{kind}_p50_ratio"] == ratio
