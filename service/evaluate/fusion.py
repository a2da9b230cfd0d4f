"""Retrieval's fusion fitted on question sets, and judged on a corpus it was not fitted on.

Each answerable question with listed sources becomes a :class:`RankedCase`: the dense and BM25
rankings retrieval computed for it (chunk and document numbers only, no text), which of their
chunks are in the question's time scope, and which documents are its sources. Any choice of
the fusion settings (:class:`Fusion`) is then scored without the store or the model, so a grid
of them is searched in seconds: :func:`fit` picks the best mean MRR over the training corpora
(each corpus counts the same), :func:`leave_one_out` fits on all corpora but one and scores
that one. ``benchmarks/fit_retrieval.py`` collects the rows; service/retrieval.py and
service/chat/answerer.py hold the fitted values, and a test checks they are the fit of the
committed rows.
"""

import csv
import gzip
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from service.evaluate.held_out import folds
from service.evaluate.metrics import hit_at_k, mean, reciprocal_rank
from service.retrieval import fuse

HIT_K = 4  # hit@4, as retrieval is reported elsewhere (docs/benchmarks.md)
# The settings searched. RRF's constant from sharp (1) to flat (200), Cormack et al.'s 60
# among them; BM25's weight from off (0) to dominant (4); passages in the question's time
# scope moved first, or left where fusion ranked them.
RRF_KS = (1, 5, 10, 20, 40, 60, 100, 200, 500, 1000)
LEXICAL_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)
FIELDS = ["corpus", "question", "k", "n", "side", "rank", "chunk", "document", "in_scope"]


@dataclass(frozen=True)
class Fusion:
    """The settings of hybrid retrieval that data chooses."""

    rrf_k: float
    lexical_weight: float
    scope_first: bool


@dataclass(frozen=True)
class Hit:
    """One chunk of a ranking: its number, its document's number, and whether it is in the
    question's time scope."""

    chunk: int
    document: int
    in_scope: bool


@dataclass
class RankedCase:
    """What retrieval saw for one question: ``k`` passages read from ``n`` candidates a side."""

    corpus: str
    question: int
    k: int
    n: int
    sources: set[int] = field(default_factory=set)
    dense: list[Hit] = field(default_factory=list)
    sparse: list[Hit] = field(default_factory=list)


def documents(case: RankedCase, fusion: Fusion) -> list[int]:
    """The document numbers of the passages read for ``case`` under ``fusion``, in order."""
    hits = {hit.chunk: hit for hit in case.dense + case.sparse}
    dense = [(str(hit.chunk), 0.0) for hit in case.dense[: case.n]]
    sparse = [(str(hit.chunk), 0.0) for hit in case.sparse[: case.n]]
    ranked = fuse(dense, sparse, fusion.rrf_k, fusion.lexical_weight)
    read = [hits[int(chunk)] for chunk, _ in ranked[: case.k]]
    if fusion.scope_first:
        read.sort(key=lambda hit: not hit.in_scope)
    return [hit.document for hit in read]


def score(cases: Sequence[RankedCase], fusion: Fusion) -> tuple[float, float]:
    """hit@4 and MRR of the sources over ``cases``."""
    hits, ranks = [], []
    for case in cases:
        found = [str(d) for d in documents(case, fusion)]
        expected = [str(s) for s in case.sources]
        hits.append(hit_at_k(found, expected, HIT_K))
        ranks.append(reciprocal_rank(found, expected))
    return mean(hits) or 0.0, mean(ranks) or 0.0


def fit(corpora: Mapping[str, Sequence[RankedCase]]) -> Fusion:
    """The settings of the grid with the best MRR averaged over ``corpora`` (the first of
    the grid's order on a tie)."""
    best: tuple[float, Fusion] | None = None
    for rrf_k, weight, first in itertools.product(RRF_KS, LEXICAL_WEIGHTS, (True, False)):
        fusion = Fusion(rrf_k, weight, first)
        value = sum(score(cases, fusion)[1] for cases in corpora.values()) / len(corpora)
        if best is None or value > best[0]:
            best = (value, fusion)
    assert best is not None  # the grid is not empty
    return best[1]


@dataclass(frozen=True)
class HeldOut:
    """One corpus's scores (hit@4, MRR) with fixed settings, with the fit of every corpus
    (in-sample) and with the fit of the other corpora (``others``; held out)."""

    corpus: str
    others: Fusion
    fixed: tuple[float, float]
    in_sample: tuple[float, float]
    held_out: tuple[float, float]


def leave_one_out(corpora: Mapping[str, Sequence[RankedCase]], fixed: Fusion) -> list[HeldOut]:
    """Each corpus scored with ``fixed``, with the fit of all corpora and with the fit of
    the others."""
    everywhere, held_out = folds(corpora, fit)
    return [
        HeldOut(name, others, score(cases, fixed), score(cases, everywhere), score(cases, others))
        for name, cases, others in held_out
    ]


def write_rows(path: Path, cases: Iterable[RankedCase]) -> None:
    """Write ``cases`` as gzipped CSV, one row per ranked chunk (sources as rank -1 rows)."""
    with gzip.open(path, "wt", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for c in cases:
            head = [c.corpus, c.question, c.k, c.n]
            for source in sorted(c.sources):
                writer.writerow([*head, "source", -1, -1, source, 0])
            for side, hits in (("dense", c.dense), ("sparse", c.sparse)):
                for rank, hit in enumerate(hits):
                    writer.writerow([*head, side, rank, hit.chunk, hit.document, int(hit.in_scope)])


def read_rows(path: Path) -> dict[str, list[RankedCase]]:
    """The cases :func:`write_rows` wrote, by corpus, in the order written."""
    cases: dict[tuple[str, int], RankedCase] = {}
    with gzip.open(path, "rt", newline="") as rows:
        for row in csv.DictReader(rows):
            key = (row["corpus"], int(row["question"]))
            case = cases.get(key)
            if case is None:
                case = cases[key] = RankedCase(key[0], key[1], int(row["k"]), int(row["n"]))
            if row["side"] == "source":
                case.sources.add(int(row["document"]))
                continue
            hit = Hit(int(row["chunk"]), int(row["document"]), row["in_scope"] == "1")
            (case.dense if row["side"] == "dense" else case.sparse).append(hit)
    corpora: dict[str, list[RankedCase]] = defaultdict(list)
    for case in cases.values():
        corpora[case.corpus].append(case)
    return dict(corpora)
