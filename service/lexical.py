"""The lexical side of retrieval: BM25 over the stored chunk texts, by chunk id.

A large base index (bm25s) is built from the whole store; later changes go to a small delta
scored with the base's statistics, and the base's rows of changed documents are hidden. So a
one-article change costs a few chunks, not the collection. Every update returns a new index
and leaves the old one as it was, so searches running meanwhile see one consistent index.
"""

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from service.memo import Remembered

_STEMMER = Stemmer.Stemmer("english")
K1, B = 1.5, 0.75  # bm25s's defaults, used for the delta too
_ROWS_FILE = "rows.json"  # beside bm25s's own files in a saved index


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed content words, English stop words removed."""
    tokens: list[list[str]] = bm25s.tokenize(
        texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False
    )
    return tokens


# The answerer reads the same passages' sentences question after question, and bm25s's set-up
# per call dominates the cost of short texts: their terms are remembered.
tokenize_remembered = Remembered(tokenize, 100_000)


@dataclass(frozen=True)
class LexicalChunk:
    chunk_id: str
    document_id: str
    text: str


@dataclass(frozen=True)
class _DeltaChunk:
    chunk_id: str
    terms: Counter[str]
    length: int


class _Base:
    """bm25s over the chunks of one full read of the store."""

    def __init__(
        self, model: bm25s.BM25, ids: list[str], documents: list[str], avg_length: float
    ) -> None:
        self.model = model
        self.ids = ids
        self.documents = documents  # the document id of each row
        self.rows: dict[str, list[int]] = {}
        for row, document_id in enumerate(documents):
            self.rows.setdefault(document_id, []).append(row)
        self.avg_length = avg_length
        counts = np.diff(model.scores["indptr"])  # chunks per token id (bm25s adds "")
        self.frequency = {
            token: int(counts[i]) for token, i in model.vocab_dict.items() if i < len(counts)
        }

    @classmethod
    def build(cls, chunks: list[LexicalChunk]) -> "_Base":
        tokens = tokenize([c.text for c in chunks])
        model = bm25s.BM25(k1=K1, b=B)
        model.index(tokens, show_progress=False)
        avg_length = sum(map(len, tokens)) / max(len(tokens), 1)
        return cls(model, [c.chunk_id for c in chunks], [c.document_id for c in chunks], avg_length)

    def save(self, directory: Path) -> None:
        self.model.save(str(directory), show_progress=False)
        rows = {"ids": self.ids, "documents": self.documents, "avg_length": self.avg_length}
        (directory / _ROWS_FILE).write_text(json.dumps(rows))

    @classmethod
    def load(cls, directory: Path) -> "_Base":
        model = bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
        rows = json.loads((directory / _ROWS_FILE).read_text())
        ids, documents = list(map(str, rows["ids"])), list(map(str, rows["documents"]))
        if not len(ids) == len(documents) == model.scores["num_docs"] > 0:
            raise ValueError(f"{directory}: the rows do not match the BM25 index")
        return cls(model, ids, documents, float(rows["avg_length"]))


class LexicalIndex:
    """BM25 over a fixed set of chunks; never changed once built (see :meth:`updated`)."""

    def __init__(self, chunks: list[LexicalChunk]) -> None:
        self._base = _Base.build(chunks) if chunks else None
        self._hidden = np.zeros(len(chunks), dtype=bool)  # base rows of changed documents
        self._delta: dict[str, list[_DeltaChunk]] = {}  # document id -> its current chunks

    def save(self, directory: Path) -> None:
        """Write the base index to an empty ``directory``, memory-mappable by :meth:`load`;
        only an index fresh from a full build (no changes applied) can be saved."""
        if self._base is None or not self.savable:
            raise ValueError("only a freshly built, non-empty index can be saved")
        self._base.save(directory)

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex":
        """An index saved by :meth:`save`, its score matrix memory-mapped (shared by the
        processes that load it); raises ``OSError`` or ``ValueError`` if it is broken."""
        index = cls([])
        index._base = _Base.load(directory)
        index._hidden = np.zeros(len(index._base.ids), dtype=bool)
        return index

    @property
    def savable(self) -> bool:
        """True for a non-empty index fresh from a full build."""
        return self._base is not None and not self._delta and not self._hidden.any()

    def __len__(self) -> int:
        base = len(self._hidden) - int(self._hidden.sum())
        return base + self.delta_size

    @property
    def delta_size(self) -> int:
        return sum(map(len, self._delta.values()))

    def updated(self, documents: set[str], chunks: list[LexicalChunk]) -> "LexicalIndex":
        """A new index where ``documents`` hold exactly ``chunks`` (none: deleted)."""
        new = LexicalIndex([])
        new._base = self._base
        new._hidden = self._hidden.copy()
        new._delta = {d: c for d, c in self._delta.items() if d not in documents}
        if self._base is not None:
            for document_id in documents:
                new._hidden[self._base.rows.get(document_id, [])] = True
        for chunk, terms in zip(chunks, tokenize([c.text for c in chunks]), strict=True):
            delta = _DeltaChunk(chunk.chunk_id, Counter(terms), len(terms))
            new._delta.setdefault(chunk.document_id, []).append(delta)
        return new

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """The ids of the ``n`` best chunks for ``query`` with their BM25 scores, best first."""
        terms = tokenize([query])[0]
        hits = self._search_base(terms, n) + self._search_delta(terms)
        hits.sort(key=lambda hit: -hit[1])
        return hits[:n]

    def _search_base(self, terms: list[str], n: int) -> list[tuple[str, float]]:
        if self._base is None:
            return []
        known = [t for t in terms if t in self._base.model.vocab_dict]
        if not known:
            return []
        scores = self._base.model.get_scores(known)
        scores[self._hidden] = 0.0
        top = np.argpartition(-scores, n)[:n] if len(scores) > n else np.arange(len(scores))
        best = top[np.argsort(-scores[top], kind="stable")]  # only the n best are sorted
        return [(self._base.ids[i], float(scores[i])) for i in best if scores[i] > 0]

    def _search_delta(self, terms: list[str]) -> list[tuple[str, float]]:
        """BM25 (bm25s's Lucene variant) of the delta's chunks, with the document frequencies
        and average length of base and delta together."""
        chunks = [chunk for doc in self._delta.values() for chunk in doc]
        if not chunks:
            return []
        base = self._base
        total = len(chunks) + (len(self._hidden) if base else 0)
        lengths = sum(c.length for c in chunks) + (
            base.avg_length * len(self._hidden) if base else 0
        )
        avg_length = lengths / total
        idf = {}
        for term in set(terms):
            df = sum(1 for c in chunks if term in c.terms)
            df += base.frequency.get(term, 0) if base else 0
            idf[term] = math.log(1 + (total - df + 0.5) / (df + 0.5))
        hits = []
        for chunk in chunks:
            norm = K1 * (1 - B + B * chunk.length / avg_length)
            score = 0.0
            for term in terms:
                tf = chunk.terms.get(term, 0)
                score += idf[term] * tf / (tf + norm)
            if score > 0:
                hits.append((chunk.chunk_id, score))
        return hits
