"""``--judge`` against the OpenAI-compatible stub server, and the verdict parser."""

import json
from pathlib import Path

import pytest

from ingestion.embeddings import Embedder
from service.evaluate.judge import build_judge, parse_verdict
from service.evaluate.report import load_report
from service.settings import Settings
from tests.evaluate.builders import run_eval_cli
from tests.helpers import make_settings
from tests.llm_stub import LLMStub, Reply


@pytest.fixture
def judged_set(tmp_path: Path, subset: Path) -> Path:
    """Two questions of the subset: one answered, one the answerer declines."""
    keep = {"factoid-pledge-amount", "unanswerable-weather"}
    lines = [line for line in subset.read_text().splitlines() if json.loads(line)["id"] in keep]
    path = tmp_path / "judged.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ('{"score": 5, "reason": "all supported"}', 1.0),
        ('Verdict:\n```json\n{"score": 2, "reason": "mostly not"}\n```', 0.25),
        ('{"score": 3.0}', 0.5),
        ('{"score": 7}', None),
        ('{"score": true}', None),
        ('{"score": "5"}', None),
        ("[1, 2]", None),
        ("five out of five", None),
    ],
)
def test_verdicts_become_scores_between_zero_and_one(text: str, score: float | None) -> None:
    assert parse_verdict(text) == score


def test_judge_scores_faithfulness_and_relevance(
    judged_set: Path,
    sample_settings: Settings,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    out = tmp_path / "judged.json"
    with LLMStub(default=Reply('{"score": 4, "reason": "fine"}')) as stub:
        monkeypatch.setenv("CITECHAT_JUDGE_BASE_URL", stub.url)
        monkeypatch.setenv("CITECHAT_JUDGE_MODEL", "judge-model")
        code, stdout, stderr = run_eval_cli(
            sample_settings.data_dir, judged_set, "--judge", "--out", out, embedder=embedder
        )
    assert code == 0, stderr
    report = load_report(out)
    assert report.settings["judge_model"] == "judge-model"
    answered, declined = report.questions
    assert answered.reply is not None and answered.reply.answered
    assert answered.scores.faithfulness == 0.75 and answered.scores.answer_relevance == 0.75
    assert declined.scores.faithfulness is None and declined.scores.answer_relevance == 0.75
    assert report.overall.faithfulness == 0.75
    assert "faithfulness" in stdout.splitlines()[2]  # a column of the summary table
    # relevance then faithfulness for the answered question, relevance for the declined one
    prompts = [request["messages"][0]["content"] for request in stub.requests]
    assert len(prompts) == 3 and all(r["model"] == "judge-model" for r in stub.requests)
    assert "How much did the US offer" in prompts[0] and answered.reply.answer in prompts[0]
    quote = answered.reply.citations[0].quote
    assert "Source passages cited by the answer" in prompts[1] and quote in prompts[1]


def test_a_failing_judge_leaves_scores_undefined_and_the_run_goes_on(
    judged_set: Path,
    sample_settings: Settings,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    out = tmp_path / "judged.json"
    with LLMStub(default=Reply(status=500)) as stub:
        stub.script(Reply(garbage=True), "I would say five.")
        monkeypatch.setenv("CITECHAT_JUDGE_BASE_URL", stub.url)
        code, _, stderr = run_eval_cli(
            sample_settings.data_dir, judged_set, "--judge", "--out", out, embedder=embedder
        )
    assert code == 0, stderr
    report = load_report(out)
    assert len(stub.requests) == 4  # the 500 is retried once (CITECHAT_LLM_MAX_RETRIES)
    assert all(q.scores.answer_relevance is None for q in report.questions)
    assert report.overall.faithfulness is None and report.overall.answer_relevance is None


def test_judge_without_a_model_is_refused_before_running(judged_set: Path, tmp_path: Path) -> None:
    code, out, err = run_eval_cli(tmp_path / "data", judged_set, "--judge")
    assert code == 1 and out == ""
    assert "--judge needs CITECHAT_JUDGE_BASE_URL (or CITECHAT_LLM_BASE_URL)" in err


def test_judge_settings_fall_back_to_the_llm_ones(tmp_path: Path) -> None:
    llm = make_settings(tmp_path, llm_base_url="http://127.0.0.1:9/v1", llm_model="answer-model")
    assert build_judge(llm).model.model == "answer-model"
    own = make_settings(
        tmp_path,
        llm_base_url="http://127.0.0.1:9/v1",
        judge_base_url="http://127.0.0.1:8/v1",
        judge_model="judge-model",
    )
    assert build_judge(own).model.model == "judge-model"
