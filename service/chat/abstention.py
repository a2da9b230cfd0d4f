"""When an extractive answer abstains: a logistic model over signals of the question's evidence.

A question naming something no passage mentions (a name, a figure) is about what the documents
do not cover: the answer abstains, unless the question presupposes it ("why ...?", answered with
a correction). Otherwise the evidence decides. Its signals are what the answerer computes anyway
(how well the best sentence and the best sentence holding the kind of answer asked cover the
question, whether a "when" question's sentences date what it asks, the passages' similarity; the
hand-set rules' own verdict is kept beside them, to compare). The model's weights and the
probability below which the answer abstains are fitted on the development corpora
(``make fit-abstention``, :mod:`service.evaluate.abstention_fit`), each corpus counting the
same, and shipped as ``abstention.json`` next to this module; a test checks the file is the fit
of the committed rows.
"""

import json
import math
from dataclasses import astuple, dataclass, fields
from functools import cache
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("abstention.json")


@dataclass(frozen=True)
class Signals:
    """What the evidence for one question looks like, as numbers."""

    unknown_names: float  # names (not figures) no passage mentions nor a title is close to
    unknown_figures: float  # figures of the question no passage mentions
    presupposes: float  # 1 for "why ...?", "since ...": the premise is corrected, not refused
    evidence: float  # the best sentence's evidence (coverage and similarity)
    answer_evidence: float  # the best sentence holding the kind of answer asked (0 if none)
    answer_share: float  # answer_evidence / evidence
    dated: float  # 0 when a "when" question's sentences date something else
    similarity: float  # the best passage's cosine similarity to the question
    rules: float  # 1 when the hand-set thresholds would answer

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def values(self) -> list[float]:
        return [float(v) for v in astuple(self)]


@dataclass(frozen=True)
class Abstention:
    """A fitted logistic model: answer when the probability of a right answer reaches
    ``threshold``."""

    signals: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float

    def probability(self, signals: Signals) -> float:
        """The fitted probability that quoting the best evidence answers the question."""
        named = dict(zip(Signals.names(), signals.values(), strict=True))
        z = self.intercept + sum(
            c * (named[name] - m) / s
            for name, m, s, c in zip(self.signals, self.mean, self.scale, self.coef, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def answers(self, signals: Signals) -> bool:
        """True when the answer quotes its evidence; False when it abstains."""
        return covered(signals) and self.probability(signals) >= self.threshold

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Abstention":
        return cls(**json.loads(text))


def covered(signals: Signals) -> bool:
    """True when the passages mention every name and figure of the question, or when it
    presupposes them: only then does the evidence decide."""
    mentioned = signals.unknown_names == 0 and signals.unknown_figures == 0
    return mentioned or signals.presupposes > 0


@cache
def shipped() -> Abstention:
    """The model shipped with the package."""
    return Abstention.from_json(MODEL_PATH.read_text(encoding="utf-8"))
