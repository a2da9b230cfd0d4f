"""Deterministic evaluation metrics: pure functions over documents ids, answers and timings.

Document lists are in rank order and may repeat a document (one entry per retrieved chunk).
``expected`` are the documents a correct answer cites; unless ``all_sources``, citing any one
of them is enough, so recall counts one required document.
"""

from collections.abc import Iterable, Sequence

import numpy as np


def hit_at_k(retrieved: Sequence[str], expected: Iterable[str], k: int) -> float:
    """1.0 when an expected document is among the first ``k`` retrieved, else 0.0."""
    wanted = set(expected)
    return 1.0 if any(doc in wanted for doc in retrieved[:k]) else 0.0


def reciprocal_rank(retrieved: Sequence[str], expected: Iterable[str]) -> float:
    """1 / the rank of the first retrieved chunk from an expected document; 0.0 if none."""
    wanted = set(expected)
    for rank, doc in enumerate(retrieved, start=1):
        if doc in wanted:
            return 1.0 / rank
    return 0.0


def citation_precision(cited: Iterable[str], expected: Iterable[str]) -> float | None:
    """The share of distinct cited documents that are expected; None when nothing is cited."""
    cited_docs = set(cited)
    if not cited_docs:
        return None
    return len(cited_docs & set(expected)) / len(cited_docs)


def citation_recall(
    cited: Iterable[str], expected: Iterable[str], all_sources: bool = False
) -> float | None:
    """The share of required documents cited; None when no document is expected.

    With ``all_sources`` every expected document is required, otherwise any one of them.
    """
    wanted = set(expected)
    if not wanted:
        return None
    found = len(set(cited) & wanted)
    required = len(wanted) if all_sources else 1
    return min(found, required) / required


def quote_is_valid(quote: str, document_text: str | None) -> bool:
    """True when ``quote`` is a non-empty verbatim passage of ``document_text``."""
    return bool(quote.strip()) and document_text is not None and quote.strip() in document_text


def abstention_ok(answered: bool, answerable: bool) -> bool:
    """True when an answerable question was answered, or an unanswerable one declined."""
    return answered == answerable


def mean(values: Iterable[float | bool | None]) -> float | None:
    """The mean of the defined values (None is skipped); None when there are none."""
    defined = [float(v) for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100, linear interpolation); None for no values."""
    if not values:
        return None
    return float(np.percentile(values, q))
