"""The extractive answerer's constants: fitted one change at a time on graded questions, judged
held out, and the shipped ones justified by the committed rows of the development corpora
(eval_sets/training/constants.csv.gz)."""

from pathlib import Path

from service.evaluate.constants_fit import (
    GRID,
    Row,
    Setting,
    fit,
    leave_one_out,
    read_rows,
    select,
    settings,
    shipped,
    table,
    write_rows,
)

ROWS = Path(__file__).parents[2] / "eval_sets" / "training" / "constants.csv.gz"
SHIPPED = shipped()
UP: Setting = ("KEEP_RATIO", 0.8)
DOWN: Setting = ("KEEP_RATIO", 0.5)


def _corpus(passes: dict[Setting, list[bool]]) -> dict[Setting, list[bool]]:
    return passes


def test_the_fit_takes_the_change_that_passes_most_and_none_when_nothing_passes_more() -> None:
    a = _corpus({None: [True, False], UP: [True, True], DOWN: [False, False]})
    b = _corpus({None: [True, True, False], UP: [True, True, True], DOWN: [True, True, False]})
    assert fit({"a": a, "b": b}) == UP
    assert fit({"b": {None: [True], UP: [True], DOWN: [False]}}) is None  # a tie keeps it


def test_each_corpus_counts_the_same_however_many_questions_it_has() -> None:
    small = _corpus({None: [False], UP: [True], DOWN: [False]})
    large = _corpus({None: [True] * 10, UP: [True] * 9 + [False], DOWN: [True] * 10})
    assert fit({"small": small, "large": large}) == UP  # +100% on one, -10% on the other


def test_held_out_a_corpus_is_scored_by_the_fit_of_the_others() -> None:
    helps = _corpus({None: [False, True], UP: [True, True], DOWN: [False, True]})
    hurts = _corpus({None: [True] * 4, UP: [False] + [True] * 3, DOWN: [True] * 4})
    corpora = {"helps": helps, "also": dict(helps), "hurts": hurts}
    rows = {r.corpus: r for r in leave_one_out(corpora)}
    assert rows["hurts"].chosen == UP and rows["hurts"].held_out == 3  # the others chose UP
    assert rows["helps"].chosen == UP and rows["helps"].held_out == 2  # +50% beats -25%
    assert select(corpora) == UP  # held out: 100% + 100% + 75%, against 50% + 50% + 100%
    corpora = {"helps": helps, "hurts": hurts, "also": dict(hurts)}
    assert select(corpora) is None  # held out: 50% + 75% + 75%, against 50% + 100% + 100%


def test_rows_round_trip(tmp_path: Path) -> None:
    rows = [Row("a", None, 0, True), Row("a", UP, 0, False), Row("b", DOWN, 1, True)]
    write_rows(tmp_path / "rows.csv.gz", rows)
    assert table(read_rows(tmp_path / "rows.csv.gz")) == table(rows)


def test_the_shipped_constants_are_what_the_committed_rows_select() -> None:
    """The rows were collected around today's constants (each grid holds the shipped value and
    every other one was tried), and no single change raises the held-out mean: after editing
    a constant, run make fit-constants again."""
    corpora = table(read_rows(ROWS))
    assert set(corpora) == {"newsdesk", "realtimeqa", "haiti-mss", "webb-telescope"}
    for name, values in GRID.items():
        assert SHIPPED[name] in values, name
    for by in corpora.values():
        assert set(by) == set(settings(SHIPPED))
    assert select(corpora) is None
