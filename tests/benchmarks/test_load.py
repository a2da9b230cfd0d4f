"""The load benchmark's figures: outcomes, latency percentiles, fault timings."""

from types import ModuleType

import pytest

from tests.helpers import load_benchmark


@pytest.fixture(scope="module")
def load() -> ModuleType:
    return load_benchmark("load")


def test_only_complete_200s_count_as_answers(load: ModuleType) -> None:
    Result = load.Result
    results = [Result(0.1 * n, "search", "200", 0.010 * (n + 1)) for n in range(20)] + [
        Result(1.0, "chat", "503", 0.5),
        Result(1.5, "stream", "error: stream without its done event", 0.2),
        Result(2.0, "chat", "200", 0.3),
    ]

    summary = load.summarise(results, seconds=2.0)

    assert summary["requests"] == 23 and summary["requests_per_second"] == 11.5
    assert summary["errors"] == 2
    assert summary["outcomes"] == {"200": 21, "503": 1, "error: stream without its done event": 1}
    assert summary["by_kind"]["search"] == {"ok": 20, "p50_ms": 105.0, "p95_ms": 190.5}
    assert summary["by_kind"]["stream"] == {"ok": 0, "p50_ms": None, "p95_ms": None}


def test_fault_timings_measure_from_the_kill_and_the_restart(load: ModuleType) -> None:
    Result = load.Result
    results = [
        Result(4.0, "search", "200", 0.1),  # before the kill
        Result(5.5, "search", "503", 0.1),
        Result(16.0, "search", "503", 0.1),  # the restarted server is not used yet
        Result(16.5, "search", "200", 0.2),
        Result(17.0, "chat", "200", 0.4),
        Result(18.0, "chat", "error: ReadTimeout", 1.0),
    ]

    timings = load.fault_timings(results, killed=5.0, restarted=15.0)

    assert timings["first_503_after_kill_s"] == 0.5
    assert timings["recovered_after_restart_s"] == {"search": 1.7, "chat": 2.4, "stream": None}
    assert timings["errors_not_503"] == 1
