"""Leave one corpus out, as every fit of the development corpora is judged (retrieval's fusion,
abstention, the answerer's constants): the fit of all corpora, and each corpus beside the fit
of the others."""

from collections.abc import Callable, Mapping
from typing import TypeVar

Data = TypeVar("Data")
Fitted = TypeVar("Fitted")


def folds(
    corpora: Mapping[str, Data], fit: Callable[[Mapping[str, Data]], Fitted]
) -> tuple[Fitted, list[tuple[str, Data, Fitted]]]:
    """``fit`` of all ``corpora``, and each corpus (its name and data) with ``fit`` of the
    others."""
    others = [
        (name, data, fit({n: d for n, d in corpora.items() if n != name}))
        for name, data in corpora.items()
    ]
    return fit(corpora), others
