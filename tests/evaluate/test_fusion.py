"""Retrieval's fusion settings: scored from stored rankings, and the shipped ones justified by
the committed rows of the development corpora (eval_sets/training/retrieval.csv.gz)."""

from pathlib import Path

from service.chat.answerer import SCOPE_FIRST
from service.evaluate.fusion import (
    Fusion,
    Hit,
    RankedCase,
    documents,
    fit,
    leave_one_out,
    read_rows,
    write_rows,
)
from service.retrieval import LEXICAL_WEIGHT, RRF_K

ROWS = Path(__file__).parents[2] / "eval_sets" / "training" / "retrieval.csv.gz"
SHIPPED = Fusion(RRF_K, LEXICAL_WEIGHT, SCOPE_FIRST)


def _case(corpus: str = "c", question: int = 0) -> RankedCase:
    """Dense ranks document 1 (out of scope) first; BM25 ranks the source, document 2 (in
    scope), first."""
    dense = [Hit(0, 1, False), Hit(1, 3, False), Hit(2, 2, True)]
    sparse = [Hit(2, 2, True), Hit(3, 4, False)]
    return RankedCase(corpus, question, k=2, n=3, sources={2}, dense=dense, sparse=sparse)


def test_documents_follow_the_fusion_settings() -> None:
    case = _case()
    assert documents(case, Fusion(60, 1.0, False)) == [2, 1]  # in both rankings: first
    assert documents(case, Fusion(60, 0.0, False)) == [1, 3]  # BM25 off: the dense order
    assert documents(case, Fusion(60, 0.0, True)) == [1, 3]  # nothing read is in scope
    assert documents(RankedCase("c", 0, 3, 3, set(), case.dense, []), Fusion(60, 0.0, True)) == [
        2,
        1,
        3,
    ]


def test_rows_read_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv.gz"
    cases = [_case("a", 0), _case("a", 1), _case("b", 0)]
    write_rows(path, cases)
    assert read_rows(path) == {"a": cases[:2], "b": cases[2:]}


def test_fit_prefers_the_ranking_that_finds_the_sources() -> None:
    assert fit({"c": [_case()]}).lexical_weight > 0


def test_shipped_settings_are_what_the_development_corpora_choose() -> None:
    """Fitting the grid on three corpora and scoring the fourth does not beat the shipped
    settings held out (mean MRR over the four), and every fit reads scoped passages first.
    When new rows (``make fit-retrieval``) change that, ship what they choose."""
    corpora = read_rows(ROWS)
    assert len(corpora) == 4
    rows = leave_one_out(corpora, SHIPPED)
    assert all(row.others.scope_first == SHIPPED.scope_first for row in rows)
    held_out = sum(row.held_out[1] for row in rows) / len(rows)
    shipped = sum(row.fixed[1] for row in rows) / len(rows)
    assert held_out <= shipped
