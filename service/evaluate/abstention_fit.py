"""The extractive answer's abstention fitted on question sets, and judged on a corpus it was not
fitted on (:mod:`service.chat.abstention` applies it).

Each question becomes a :class:`Row`: its corpus, whether it is answerable, whether the answer
quoting its best evidence passed (``passed``: the answerer run with abstention switched off),
and the signals the answerer saw. A fitted model answers when its probability reaches a
threshold; it then passes where ``passed``, and abstaining passes where the question is not
answerable. The model is scikit-learn's logistic regression on standardised signals, each
corpus weighing the same, and the threshold the one that passes most questions of the training
corpora (corpora again weighing the same). What ships (:func:`select`) is that fit or the
hand-set rules, whichever passes more of the corpora neither was fitted on.
"""

import csv
import gzip
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from service.chat.abstention import Abstention, Signals, covered
from service.evaluate.held_out import folds

# The signals of the evidence: not the rules' verdict (the model learns from the evidence, not
# from the hand-set thresholds; the verdict is kept in the rows, to compare), nor the names and
# figures no passage mentions, on which the answer abstains before the model is asked
# (:func:`service.chat.abstention.covered`).
FITTED = [
    name for name in Signals.names() if name not in ("rules", "unknown_names", "unknown_figures")
]
# scikit-learn's default C. Each corpus's sample weights sum to one, so the data term is a few
# mean losses rather than hundreds of questions' losses: the fit is strongly regularised
# (weights scaled to average one did worse held out: a mean of 85.7% against 86.7%).
C = 1.0
# The hand-set thresholds as a model: answer exactly when they would.
RULES = Abstention(["rules"], [0.0], [1.0], [1.0], intercept=-0.5, threshold=0.5)
# The development corpora the rules were written against: what they pass there is in-sample,
# no measure of how they do on articles nobody tuned them for.
RULES_WRITTEN_ON = frozenset({"newsdesk", "haiti-mss", "webb-telescope"})


@dataclass(frozen=True)
class Row:
    corpus: str
    question: int
    answerable: bool
    passed: bool  # the answer quoting the best evidence passed
    decided: bool  # the answerer had evidence to decide on (else it abstained regardless)
    signals: tuple[float, ...]  # in Signals.names() order

    def signal(self, name: str) -> float:
        return self.signals[Signals.names().index(name)]


def passes(row: Row, answers: bool) -> bool:
    """Whether ``row``'s question passes when the answerer answers (or abstains)."""
    if not row.decided:
        return not row.answerable
    return row.passed if answers else not row.answerable


def fit(corpora: Mapping[str, Sequence[Row]], signals: Sequence[str] = FITTED) -> Abstention:
    """The model and threshold fitted on the questions of ``corpora`` it decides: those whose
    names and figures the passages mention (:func:`service.chat.abstention.covered`)."""
    rows = [r for rows in corpora.values() for r in rows if r.decided and covered(_signals(r))]
    weights = np.array([1.0 / len(corpora[r.corpus]) for r in rows])
    x = np.array([[r.signal(name) for name in signals] for r in rows])
    y = np.array([r.passed for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=C).fit((x - mean) / scale, y, sample_weight=weights)
    unfitted = Abstention(
        list(signals),
        mean.tolist(),
        scale.tolist(),
        model.coef_[0].tolist(),
        float(model.intercept_[0]),
        threshold=0.5,
    )
    probabilities = [unfitted.probability(_signals(r)) for r in rows]
    threshold = _best_threshold(rows, probabilities, corpora)
    return Abstention(**{**unfitted.__dict__, "threshold": threshold})


def _best_threshold(
    rows: Sequence[Row], probabilities: Sequence[float], corpora: Mapping[str, Sequence[Row]]
) -> float:
    """The threshold passing the most of ``rows`` (each corpus weighing the same): midway
    between two neighbouring probabilities, the lowest of the best on a tie."""
    ordered = sorted(set(probabilities))
    candidates = [0.0] + [(a + b) / 2 for a, b in zip(ordered, ordered[1:], strict=False)]
    candidates.append(1.0)
    best: tuple[float, float] | None = None
    for threshold in candidates:
        value = sum(
            passes(r, p >= threshold) / len(corpora[r.corpus])
            for r, p in zip(rows, probabilities, strict=True)
        )
        if best is None or value > best[0] + 1e-12:
            best = (value, threshold)
    assert best is not None
    return best[1]


def _signals(row: Row) -> Signals:
    return Signals(*row.signals)


@dataclass(frozen=True)
class Outcome:
    """How a decision does on one corpus."""

    passed: int
    questions: int
    unanswerable_abstained: int
    unanswerable: int
    answerable_abstained: int
    answerable: int


def outcome(rows: Sequence[Row], answers: Mapping[int, bool]) -> Outcome:
    """Counts for ``rows`` when question ``i`` is answered where ``answers[i]``."""
    said = {r.question: answers.get(r.question, False) and r.decided for r in rows}
    return Outcome(
        passed=sum(passes(r, said[r.question]) for r in rows),
        questions=len(rows),
        unanswerable_abstained=sum(not said[r.question] for r in rows if not r.answerable),
        unanswerable=sum(not r.answerable for r in rows),
        answerable_abstained=sum(not said[r.question] for r in rows if r.answerable),
        answerable=sum(r.answerable for r in rows),
    )


def decisions(rows: Sequence[Row], model: Abstention) -> dict[int, bool]:
    """Whether ``model`` answers each question of ``rows``."""
    return {r.question: model.answers(_signals(r)) for r in rows}


def by_rules(rows: Sequence[Row]) -> dict[int, bool]:
    """Whether the hand-set thresholds answer each question of ``rows``."""
    return {r.question: r.signal("rules") > 0 for r in rows}


@dataclass(frozen=True)
class HeldOut:
    """One corpus decided by the rules, by the fit of all corpora and by the fit of the others
    (``answers``: whether that fit answers each of its questions)."""

    corpus: str
    rules: Outcome
    in_sample: Outcome
    held_out: Outcome
    answers: Mapping[int, bool]


def select(corpora: Mapping[str, Sequence[Row]]) -> Abstention:
    """The model to ship: the fit of all corpora if, fitted on all but one corpus, it passes
    more of the held-out corpus than the rules do (mean share), over the corpora the rules were
    not written against (:data:`RULES_WRITTEN_ON`; all of them if there are none); else
    :data:`RULES`."""
    table = leave_one_out(corpora)
    unseen = [row for row in table if row.corpus not in RULES_WRITTEN_ON] or table
    fitted = sum(_share(row.held_out) for row in unseen)
    rules = sum(_share(row.rules) for row in unseen)
    return fit(corpora) if fitted > rules else RULES


def _share(o: Outcome) -> float:
    return o.passed / o.questions


def leave_one_out(corpora: Mapping[str, Sequence[Row]]) -> list[HeldOut]:
    """Each corpus decided by the rules, by the fit of all corpora and by the fit of the others."""
    everywhere, held_out = folds(corpora, fit)
    table = []
    for name, rows, others in held_out:
        answers = decisions(rows, others)
        in_sample = outcome(rows, decisions(rows, everywhere))
        table.append(
            HeldOut(name, outcome(rows, by_rules(rows)), in_sample, outcome(rows, answers), answers)
        )
    return table


def by_category(
    rows: Sequence[Row], answers: Mapping[int, bool], categories: Sequence[str]
) -> dict[str, Outcome]:
    """The :func:`outcome` of each category's questions of ``rows`` (question ``i`` is of
    ``categories[i]``), by category name."""
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[categories[row.question]].append(row)
    return {category: outcome(grouped[category], answers) for category in sorted(grouped)}


FIELDS = ["corpus", "question", "answerable", "passed", "decided", *Signals.names()]


def write_rows(path: Path, rows: Sequence[Row]) -> None:
    """Write ``rows`` as gzipped CSV (numbers only), signals rounded to 6 places."""
    with gzip.open(path, "wt", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for r in rows:
            flags = [int(r.answerable), int(r.passed), int(r.decided)]
            writer.writerow([r.corpus, r.question, *flags, *(f"{v:.6f}" for v in r.signals)])


def read_rows(path: Path) -> dict[str, list[Row]]:
    """The rows :func:`write_rows` wrote, by corpus."""
    corpora: dict[str, list[Row]] = defaultdict(list)
    with gzip.open(path, "rt", newline="") as rows:
        for row in csv.DictReader(rows):
            corpora[row["corpus"]].append(
                Row(
                    row["corpus"],
                    int(row["question"]),
                    row["answerable"] == "1",
                    row["passed"] == "1",
                    row["decided"] == "1",
                    tuple(float(row[name]) for name in Signals.names()),
                )
            )
    return dict(corpora)
