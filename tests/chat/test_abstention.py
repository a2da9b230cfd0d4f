"""When an extractive answer abstains: the signals the answerer computes, the decision it takes
from them, and the model shipped being what the committed rows select."""

from pathlib import Path

import pytest

from service.chat.abstention import Abstention, Signals, shipped
from service.chat.condense import Standalone
from service.chat.extractive import NOT_IN_DOCUMENTS, answer
from service.evaluate.abstention_fit import (
    RULES,
    RULES_WRITTEN_ON,
    Row,
    by_category,
    decisions,
    fit,
    leave_one_out,
    outcome,
    read_rows,
    select,
    write_rows,
)
from tests.chat.test_chat_parts import passage

ROWS = Path(__file__).parents[2] / "eval_sets" / "training" / "abstention.csv.gz"
TEXT = "The council met on Monday. It approved the new bridge after a long debate."


def _signals(
    unknown_names: float = 0.0,
    evidence: float = 1.0,
    rules: float = 1.0,
    presupposes: float = 0.0,
) -> Signals:
    return Signals(unknown_names, 0.0, presupposes, evidence, evidence, 1.0, 1.0, 0.5, rules)


def test_the_rules_model_answers_exactly_when_the_rules_would() -> None:
    assert RULES.answers(_signals(rules=1.0))
    assert not RULES.answers(_signals(rules=0.0))
    assert Abstention.from_json(RULES.to_json()) == RULES


def test_a_name_no_passage_mentions_is_refused_whatever_the_evidence() -> None:
    model = Abstention(["evidence"], [1.0], [1.0], [5.0], intercept=0.0, threshold=0.5)
    assert model.answers(_signals(evidence=1.5))
    assert not model.answers(_signals(unknown_names=1.0, evidence=1.5))
    # "Why did the US pledge $500 million ...?": the premise is corrected, the evidence decides
    assert model.answers(_signals(unknown_names=1.0, evidence=1.5, presupposes=1.0))
    assert not model.answers(_signals(unknown_names=1.0, evidence=0.5, presupposes=1.0))


def test_the_decision_is_taken_on_the_answerers_signals() -> None:
    seen: list[Signals] = []

    def refuse(signals: Signals) -> bool:
        seen.append(signals)
        return False

    question = Standalone("What did the council approve?")
    refused = answer(question, [passage(TEXT)], decide=refuse)
    assert not refused.answered and refused.answer.startswith(NOT_IN_DOCUMENTS)
    assert seen and seen[0].evidence > 0 and seen[0].unknown_names == 0
    # "how many" with no figure anywhere: the rules abstain, a decision to answer quotes the
    # best evidence all the same
    counted = Standalone("How many bridges did the council approve?")
    assert not answer(counted, [passage(TEXT)]).answered
    forced = answer(counted, [passage(TEXT)], decide=lambda signals: True)
    assert forced.answered and "approved the new bridge" in forced.answer


def _rows(corpus: str) -> list[Row]:
    """Answerable questions whose answers pass, on strong evidence, and unanswerable ones with
    weak evidence, all of which the rules answer."""
    rows = []
    for i in range(20):
        answerable = i % 2 == 0
        signals = _signals(evidence=1.5 if answerable else 0.5, rules=1.0)
        rows.append(Row(corpus, i, answerable, answerable, True, tuple(signals.values())))
    return rows


def test_a_fit_learns_to_abstain_where_answers_fail(tmp_path: Path) -> None:
    corpora = {"a": _rows("a"), "b": _rows("b")}
    model = fit(corpora)
    assert outcome(corpora["a"], decisions(corpora["a"], model)).passed == 20
    assert outcome(corpora["a"], decisions(corpora["a"], RULES)).passed == 10
    assert select(corpora) != RULES  # the fit passes more held out
    path = tmp_path / "rows.csv.gz"
    write_rows(path, corpora["a"] + corpora["b"])
    assert read_rows(path) == corpora


def _written_against(corpus: str) -> list[Row]:
    """Questions the rules decide rightly (they were written against them) and no signal tells."""
    rows = []
    for i in range(20):
        answerable = i % 2 == 0
        signals = _signals(rules=float(answerable))
        rows.append(Row(corpus, i, answerable, answerable, True, tuple(signals.values())))
    return rows


def test_the_rules_are_judged_only_where_they_were_not_written() -> None:
    corpora = {"a": _rows("a"), "b": _rows("b")}
    corpora |= {name: _written_against(name) for name in RULES_WRITTEN_ON}
    table = leave_one_out(corpora)
    in_sample = sum(row.rules.passed for row in table)
    assert in_sample > sum(row.held_out.passed for row in table)  # the rules, counted everywhere
    assert select(corpora) != RULES  # held out on "a" and "b", the fit passes more


def test_held_out_passes_split_by_category_add_up_to_the_corpus() -> None:
    corpora = {"a": _rows("a"), "b": _rows("b")}
    categories = ["answerable", "unanswerable"] * 10  # as _rows makes question i

    for row in leave_one_out(corpora):
        split = by_category(corpora[row.corpus], row.answers, categories)

        assert list(split) == ["answerable", "unanswerable"]
        assert all(o.questions == 10 for o in split.values())
        assert sum(o.passed for o in split.values()) == row.held_out.passed
        assert outcome(corpora[row.corpus], row.answers) == row.held_out


def test_the_shipped_model_is_what_the_development_corpora_select() -> None:
    """Regenerate with ``make fit-abstention`` when the answerer's signals change. The fit is
    the same on every machine but for the last bits of its floats (another BLAS build)."""
    ours, fitted = shipped(), select(read_rows(ROWS))
    assert ours.signals == fitted.signals
    for numbers in ("mean", "scale", "coef"):
        assert getattr(ours, numbers) == pytest.approx(getattr(fitted, numbers), rel=1e-9)
    assert ours.intercept == pytest.approx(fitted.intercept, rel=1e-9)
    assert ours.threshold == pytest.approx(fitted.threshold, rel=1e-9)
