"""Remembering the results of a batch function of texts, for texts that come back."""

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

CACHED_TEXTS = 65_536  # texts (words, sentences, passages) whose analysis a cache keeps


class Remembered(Generic[T]):
    """``compute`` (texts to one result each, in one batch), remembering each text's result.

    Only the texts not seen before are computed, in one call. Past ``kept`` texts everything is
    forgotten at once, which another thread may be doing meanwhile: a text missed then is just
    computed again. Results are shared between callers: do not change them.
    """

    def __init__(self, compute: Callable[[list[str]], list[T]], kept: int) -> None:
        self._compute = compute
        self._kept = kept
        self._known: dict[str, T] = {}

    def __call__(self, texts: list[str]) -> list[T]:
        known = self._known  # shared by request threads: one get() per text, never `in` then []
        found = {text: value for text in texts if (value := known.get(text)) is not None}
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        if missing:
            new = dict(zip(missing, self._compute(missing), strict=True))
            if len(known) + len(new) > self._kept:
                known.clear()
            known.update(new)
            found.update(new)
        return [found[text] for text in texts]
