"""The extractive answerer's weights and ratios fitted on question sets, and judged on a corpus
they were not fitted on.

Each constant of :data:`GRID` is tried at each of its values, the others kept as shipped, and
every question of every corpus answered and graded: a :class:`Row` per corpus, setting and
question says whether it passed (``benchmarks/fit_constants.py`` collects them). A fit is one
step of coordinate ascent on those rows: the single change of one constant that passes the
largest mean share of the training corpora's questions (each corpus counting the same), or no
change when none passes more than the shipped values. :func:`leave_one_out` fits on all
corpora but one and scores that one. A change ships only when it raises the held-out mean
(:func:`select`); the rows are then collected again around the new values, until no change
does. A test checks that the committed rows were collected around the shipped values and
select no change.
"""

import csv
import gzip
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from service.chat import condense, names, weights
from service.evaluate.held_out import folds

# The values tried: weights from off to that of the sentence's own coverage (1), ratios across
# (0, 1), the lead's bonus from none to twice the shipped one, the evidence below which the
# rules abstain from 0.5 to 1, word and title similarities either side of the shipped one, the
# mentions that make a name what "he" of a follow-up refers to from 1 to 3. Each grid holds the
# value shipped (in service/chat/weights.py; TITLE_SIMILARITY in names.py, MIN_MENTIONS in
# condense.py).
GRID: dict[str, tuple[float, ...]] = {
    "CONTEXT_WEIGHT": (0.0, 0.25, 0.5, 1.0),
    "SIMILARITY_WEIGHT": (0.0, 0.25, 0.5, 1.0),
    "SEMANTIC_WEIGHT": (0.0, 0.25, 0.5, 1.0),
    "LEAD_BONUS": (0.0, 0.05, 0.15, 0.3),
    "NAME_PENALTY": (0.0, 0.25, 0.5, 0.75),
    "SCOPE_RATIO": (0.3, 0.5, 0.7, 0.9),
    "ADDRESS_RATIO": (0.5, 0.6, 0.7, 0.8, 0.9),
    "KIND_RATIO": (0.6, 0.7, 0.8, 0.9),
    "KEEP_RATIO": (0.5, 0.65, 0.8),
    "PRESENT_TENSE_RATIO": (0.7, 0.8, 0.9, 1.0),
    "MIN_EVIDENCE": (0.5, 0.625, 0.75, 0.875, 1.0),
    "VALUE_RATIO": (0.5, 0.65, 0.8),
    "TIMELINE_RATIO": (0.3, 0.5, 0.7),
    "WORD_SIMILARITY": (0.4, 0.5, 0.6),
    "TITLE_SIMILARITY": (0.1, 0.15, 0.2, 0.25, 0.3),
    "MIN_MENTIONS": (1, 2, 3),
}
# The module each constant is read from and set in.
HOMES: dict[str, ModuleType] = dict.fromkeys(GRID, weights) | {
    "TITLE_SIMILARITY": names,
    "MIN_MENTIONS": condense,
}
FIELDS = ["corpus", "constant", "value", "question", "passed"]

Setting = tuple[str, float] | None  # one constant at one value; None: all as shipped


@dataclass(frozen=True)
class Row:
    corpus: str
    setting: Setting
    question: int
    passed: bool


def _order(row: Row) -> tuple[str, str, int]:
    return row.corpus, str(row.setting), row.question


Table = Mapping[str, Mapping[Setting, Sequence[bool]]]  # corpus -> setting -> passed, by question


def shipped() -> dict[str, float]:
    """The value each constant of :data:`GRID` has today."""
    return {name: float(getattr(HOMES[name], name)) for name in GRID}


def settings(shipped: Mapping[str, float]) -> list[Setting]:
    """The shipped values, then each constant of :data:`GRID` at each other value."""
    changes: list[Setting] = [
        (name, value) for name, values in GRID.items() for value in values if value != shipped[name]
    ]
    return [None, *changes]


def table(rows: Sequence[Row]) -> dict[str, dict[Setting, list[bool]]]:
    """``rows`` by corpus and setting, each a list of passes in question order."""
    out: dict[str, dict[Setting, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for row in sorted(rows, key=_order):
        out[row.corpus][row.setting].append(row.passed)
    return {corpus: dict(by) for corpus, by in out.items()}


def share(passed: Sequence[bool]) -> float:
    return sum(passed) / len(passed)


def fit(corpora: Table) -> Setting:
    """The one change that passes the largest mean share of ``corpora``'s questions, or None
    when no change passes more than the shipped values (the first of the best on a tie)."""
    common = set.intersection(*(set(by) for by in corpora.values()))
    best: tuple[float, Setting] = (_mean(corpora, None), None)
    for setting in sorted(common - {None}, key=str):
        value = _mean(corpora, setting)
        if value > best[0] + 1e-12:
            best = (value, setting)
    return best[1]


def _mean(corpora: Table, setting: Setting) -> float:
    return sum(share(by[setting]) for by in corpora.values()) / len(corpora)


@dataclass(frozen=True)
class HeldOut:
    """One corpus: passed as shipped, by the fit of all corpora and by the fit of the others."""

    corpus: str
    questions: int
    shipped: int
    in_sample: int
    held_out: int
    chosen: Setting  # the fit of the other corpora


def leave_one_out(corpora: Table) -> list[HeldOut]:
    """Each corpus as shipped, under the fit of all corpora and under the fit of the others."""
    everywhere, held_out = folds(corpora, fit)
    return [
        HeldOut(name, len(by[None]), sum(by[None]), sum(by[everywhere]), sum(by[others]), others)
        for name, by, others in held_out
    ]


def select(corpora: Table) -> Setting:
    """The change to ship: the fit of all corpora if, fitted on all but one corpus, it passes
    a larger mean share of the held-out corpus than the shipped values do; else None."""
    rows = leave_one_out(corpora)
    held_out = sum(r.held_out / r.questions for r in rows)
    shipped = sum(r.shipped / r.questions for r in rows)
    return fit(corpora) if held_out > shipped + 1e-12 else None


def write_rows(path: Path, rows: Sequence[Row]) -> None:
    """Write ``rows`` as gzipped CSV (numbers and constant names only)."""
    with gzip.open(path, "wt", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for r in sorted(rows, key=_order):
            name, value = r.setting if r.setting else ("", "")
            writer.writerow([r.corpus, name, value, r.question, int(r.passed)])


def read_rows(path: Path) -> list[Row]:
    """The rows :func:`write_rows` wrote."""
    with gzip.open(path, "rt", newline="") as rows:
        return [
            Row(
                row["corpus"],
                (row["constant"], float(row["value"])) if row["constant"] else None,
                int(row["question"]),
                row["passed"] == "1",
            )
            for row in csv.DictReader(rows)
        ]
