"""``citechat eval`` end to end: real index, real answerer, real HTTP server for ``--api``."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.embeddings import Embedder
from service.app import create_app
from service.evaluate.report import load_report
from service.settings import Settings
from tests.evaluate.builders import run_eval_cli
from tests.helpers import copy_corpus, make_settings, run_ingest, serve_app

MAY = "2025-05-23-us-signals-end-of-haiti-mission-funding.md"


@pytest.fixture(scope="module")
def baseline(
    subset: Path,
    sample_settings: Settings,
    embedder: Embedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A report of the subset in-process on the sample index (the session's model reused)."""
    out = tmp_path_factory.mktemp("baseline") / "baseline.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("service.wiring.build_embedder", lambda settings: embedder)
        code, stdout, stderr = run_eval_cli(sample_settings.data_dir, subset, "--out", out)
    assert code == 0, stderr
    assert stdout.startswith(f"## Evaluation of {subset} (in-process)")
    return out


@pytest.fixture(scope="module")
def degraded_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """An index of the sample corpus without its latest article: a corpus change gone wrong."""
    corpus = copy_corpus(tmp_path_factory.mktemp("degraded") / "corpus")
    (corpus / MAY).unlink()
    settings = make_settings(corpus.parent / "data")
    assert run_ingest(settings, embedder, [corpus]).new == 2
    return settings


@pytest.fixture
def served(request: pytest.FixtureRequest, embedder: Embedder) -> Iterator[str]:
    settings = request.getfixturevalue(request.param)
    with serve_app(create_app(settings, embedder=embedder)) as url:
        yield url


def test_in_process_report_records_questions_settings_and_metrics(
    baseline: Path, subset: Path
) -> None:
    report = load_report(baseline)
    assert [q.id for q in report.questions] == [
        json.loads(line)["id"] for line in subset.read_text().splitlines()
    ]
    settings = report.settings
    assert settings["target"] == "in-process" and settings["answer_modes"] == {"extractive": 8}
    assert (
        settings["top_k"] == 5
        and settings["max_retrieved"] == 7
        and settings["chunk_overlap"] == 32
    )
    three_turns = next(q for q in report.questions if q.id == "multi-and-now")
    assert len(three_turns.history) == 2 and len(three_turns.latencies_ms) == 3
    still = next(q for q in report.questions if q.id == "temporal-still-funding")
    assert still.reply is not None and still.reply.citations
    assert all(c.quote_valid is True for c in still.reply.citations)
    assert set(report.categories) == {q.category for q in report.questions}
    assert report.overall.passed >= 6  # the answerer's own bar is 90% on the whole set


def test_the_gate_passes_on_the_same_configuration(
    baseline: Path, subset: Path, sample_settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("service.wiring.build_embedder", lambda settings: embedder)
        code, out, err = run_eval_cli(
            sample_settings.data_dir, subset, "--baseline", baseline, "--html", tmp_path / "r.html"
        )
    assert code == 0, out + err
    assert f"## Regression gate against {baseline}: PASSED" in out
    assert "<svg" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("served", ["sample_settings"], indirect=True)
def test_api_mode_against_a_running_server(
    served: str, subset: Path, sample_settings: Settings, baseline: Path, tmp_path: Path
) -> None:
    out = tmp_path / "api.json"
    code, stdout, stderr = run_eval_cli(
        sample_settings.data_dir, subset, "--api", served, "--out", out, "--baseline", baseline
    )
    assert code == 0, stdout + stderr
    report = load_report(out)
    assert report.settings["target"] == served and "top_k" not in report.settings
    assert stdout.startswith(f"## Evaluation of {subset} ({served})")
    assert "| **overall** | " in stdout and "| temporal | " in stdout
    assert report.overall.quote_validity == 1.0  # checked against the local index
    in_process = load_report(baseline).questions
    assert [q.passed for q in report.questions] == [q.passed for q in in_process]
    # Both modes read the API's reply: the same record, but for the standalone question that
    # only the answerer in this process knows.
    for over_http, local in zip(report.questions, in_process, strict=True):
        assert over_http.reply is not None and local.reply is not None
        only_local = {"question"}
        assert over_http.reply.model_dump(exclude=only_local) == local.reply.model_dump(
            exclude=only_local
        )
        assert all(c.source.startswith("https://") for c in over_http.reply.citations)


@pytest.mark.parametrize("served", ["degraded_settings"], indirect=True)
def test_the_gate_fails_on_a_degraded_configuration(
    served: str, subset: Path, degraded_settings: Settings, baseline: Path
) -> None:
    code, out, _ = run_eval_cli(
        degraded_settings.data_dir, subset, "--api", served, "--baseline", baseline
    )
    assert code == 1
    assert f"## Regression gate against {baseline}: FAILED" in out
    assert (
        "- `temporal-still-funding` (temporal): Is the US still funding the Haiti mission?" in out
    )
    assert "  - baseline answer: " in out and "  - current answer: " in out
    assert "**dropped**" in out


def test_a_malformed_set_stops_before_anything_runs(tmp_path: Path, subset: Path) -> None:
    lines = subset.read_text().splitlines()
    lines[2] = lines[2].replace('"turns"', '"turn"')
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    # The API address is dead: a run that started would fail differently.
    code, out, err = run_eval_cli(tmp_path / "data", bad, "--api", "http://127.0.0.1:9")
    assert code == 2 and out == ""
    assert err.startswith(f"error: {bad}:3: turns: Field required")
    assert not (tmp_path / "data").exists()


def test_an_unreachable_service_or_bad_baseline_fails_clearly(tmp_path: Path, subset: Path) -> None:
    code, _, err = run_eval_cli(tmp_path / "data", subset, "--api", "http://127.0.0.1:9")
    assert code == 1 and "service at http://127.0.0.1:9 is not healthy" in err
    (tmp_path / "base.json").write_text("{}")
    code, _, err = run_eval_cli(tmp_path / "data", subset, "--baseline", tmp_path / "base.json")
    assert code == 2 and "not a readable eval report" in err


def test_an_empty_index_is_refused_in_process(
    tmp_path: Path, subset: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("service.wiring.build_embedder", lambda settings: embedder)
    code, _, err = run_eval_cli(tmp_path / "data", subset)
    assert code == 1 and "holds no documents: run `citechat ingest` first" in err
