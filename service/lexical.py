"""The lexical side of retrieval: BM25 (bm25s) over the stored chunk texts, by chunk id."""

import bm25s
import numpy as np
import Stemmer

_STEMMER = Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed content words, English stop words removed."""
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False
    )


class LexicalIndex:
    """BM25 over a fixed set of chunks; never changed once built, so readers share it freely."""

    def __init__(self, ids: list[str], texts: list[str]) -> None:
        self._ids = ids
        self._model: bm25s.BM25 | None = None
        if ids:
            self._model = bm25s.BM25()
            self._model.index(tokenize(texts), show_progress=False)

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """The ids of the ``n`` best chunks for ``query`` with their BM25 scores, best first."""
        if self._model is None:
            return []
        vocab = self._model.vocab_dict
        tokens = [t for t in tokenize([query])[0] if t in vocab]
        if not tokens:
            return []
        scores = self._model.get_scores(tokens)
        best = np.argsort(-scores, kind="stable")[:n]
        return [(self._ids[i], float(scores[i])) for i in best if scores[i] > 0]
