from pathlib import Path

from service.evaluate.gate import compare, gate_markdown
from service.evaluate.records import Reply, Report
from service.evaluate.report import build_report
from tests.evaluate.builders import GOOD, case, graded, reply

WRONG = reply("The US pays everything.", [], [], answered=True)


def report_of(*answers: Reply | None) -> Report:
    results = [graded(case(id=f"q{i}", all_sources=False), a) for i, a in enumerate(answers)]
    return build_report(Path("set.jsonl"), results, {"target": "in-process"})


def test_the_same_results_pass_the_gate() -> None:
    baseline = report_of(GOOD, GOOD, WRONG)
    result = compare(baseline, report_of(GOOD, GOOD, WRONG), max_drop=0.0)
    assert result.passed and not result.drops and not result.regressions
    assert "PASSED" in gate_markdown(result, "base.json")


def test_a_question_that_passed_and_now_fails_is_listed_with_both_answers() -> None:
    baseline = report_of(GOOD, *[GOOD] * 99)
    current = report_of(WRONG, *[GOOD] * 99)  # pass rate drops by 1 point only
    result = compare(baseline, current, max_drop=0.02)
    assert not result.drops
    assert [r.current.id for r in result.regressions] == ["q0"]
    text = gate_markdown(result, "base.json")
    assert "FAILED" in text and "`q0` (temporal)" in text
    assert "baseline answer: As of 23 May 2025 the US intends to withhold" in text
    assert "current answer: The US pays everything." in text
    assert "fails because: answer lacks any of: 'withhold'" in text


def test_a_metric_drop_beyond_max_drop_fails_even_without_regressed_questions() -> None:
    baseline = report_of(GOOD, GOOD, GOOD, WRONG)
    current = report_of(GOOD, GOOD, GOOD, WRONG)
    current.overall.quote_validity = 0.9  # e.g. quotes got longer and less exact
    result = compare(baseline, current, max_drop=0.05)
    assert [c.name for c in result.drops] == ["quote_validity"] and not result.regressions
    assert "| quote_validity | 100.0% | 90.0% | -10.0 pts **dropped** |" in gate_markdown(
        result, "b"
    )
    assert compare(baseline, current, max_drop=0.1).passed  # a drop of exactly max_drop passes


def test_fixed_and_missing_questions_are_noted_but_do_not_fail() -> None:
    baseline = report_of(WRONG, GOOD)
    current = report_of(GOOD)
    result = compare(baseline, current, max_drop=1.0)
    assert result.passed
    assert result.fixed == ["q0"] and result.missing == ["q1"]
    text = gate_markdown(result, "b")
    assert "Now passing: `q0`" in text and "not in this run: q1" in text


def test_metrics_missing_on_either_side_are_not_compared() -> None:
    baseline = report_of(GOOD)
    baseline.overall.faithfulness = 0.9
    result = compare(baseline, report_of(GOOD), max_drop=0.0)
    assert "faithfulness" not in [c.name for c in result.changes] and result.passed
