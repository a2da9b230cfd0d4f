"""Hybrid retrieval: dense vectors from Chroma plus BM25 (bm25s), fused by reciprocal rank."""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import bm25s
import numpy as np
import Stemmer

from ingestion.embeddings import Embedder
from ingestion.sentences import METADATA_KEY
from ingestion.store import ChunkStore, StoredChunk, StoreUnavailable

logger = logging.getLogger(__name__)

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al., 2009)
MIN_CANDIDATES = 20


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the metadata needed to cite it."""

    chunk_id: str
    document_id: str
    title: str
    source: str
    published: str
    text: str
    start: int
    end: int
    score: float  # the ranking score: fused rank score in hybrid mode, else ``similarity``
    similarity: float | None  # cosine similarity to the query; None if only BM25 found it
    sentences: str = ""  # the sentence vectors stored at ingest (see ingestion.sentences)

    @classmethod
    def from_chunk(cls, chunk: StoredChunk, score: float, similarity: float | None) -> "Passage":
        meta = chunk.metadata
        return cls(
            chunk_id=chunk.chunk_id,
            document_id=str(meta["document_id"]),
            title=str(meta["title"]),
            source=str(meta["source"]),
            published=str(meta["published"]),
            text=chunk.text,
            start=int(meta["start"]),
            end=int(meta["end"]),
            score=score,
            similarity=similarity,
            sentences=str(meta.get(METADATA_KEY, "")),
        )


class _Bm25Index:
    """BM25 over a snapshot of every chunk in the store; replaced whole when the store changes."""

    def __init__(self, chunks: list[StoredChunk], revision: str | None) -> None:
        self.revision = revision
        self._chunks = chunks
        self._model: bm25s.BM25 | None = None
        if chunks:
            self._model = bm25s.BM25()
            self._model.index(tokenize([c.text for c in chunks]), show_progress=False)

    def search(self, query: str, n: int) -> list[tuple[StoredChunk, float]]:
        if self._model is None:
            return []
        vocab = self._model.vocab_dict
        tokens = [t for t in tokenize([query])[0] if t in vocab]
        if not tokens:
            return []
        scores = self._model.get_scores(tokens)
        best = np.argsort(-scores, kind="stable")[:n]
        return [(self._chunks[i], float(scores[i])) for i in best if scores[i] > 0]


_STEMMER = Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed content words, English stop words removed."""
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False
    )


@contextmanager
def _store_errors(where: str) -> Iterator[None]:
    """Turn any failure of the Chroma client into :class:`StoreUnavailable`."""
    try:
        yield
    except StoreUnavailable:
        raise
    except Exception as exc:
        logger.warning("vector store call failed: %s", exc)
        raise StoreUnavailable(f"vector store at {where} unavailable: {exc}") from exc


class Retriever:
    """Finds the passages that best match a query."""

    def __init__(
        self,
        open_store: Callable[[], ChunkStore],
        embedder: Embedder,
        where: str,
        mode: Literal["hybrid", "dense"] = "hybrid",
        refresh_seconds: float = 2.0,
    ) -> None:
        self._open_store = open_store
        self._store: ChunkStore | None = None
        self.embedder = embedder
        self.where = where
        self.mode = mode
        self._refresh_seconds = refresh_seconds
        self._checked_at = float("-inf")
        self._bm25 = _Bm25Index([], None)
        self._lock = threading.Lock()

    @contextmanager
    def connected(self) -> Iterator[ChunkStore]:
        """The store, connected on first use; a failure inside the block is reported as
        :class:`StoreUnavailable` and drops the connection, so the next call reconnects."""
        with _store_errors(self.where):
            try:
                if self._store is None:
                    self._store = self._open_store()
                yield self._store
            except Exception:
                self._store = None
                raise

    @property
    def store(self) -> ChunkStore:
        """The chunk store, connected on first use (and again after a failure)."""
        with self.connected() as store:
            return store

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers."""
        with self.connected() as store:
            store.collection.count()

    def search(self, query: str, k: int, embedding: list[float] | None = None) -> list[Passage]:
        """The ``k`` best passages for ``query`` (embedded unless ``embedding`` is), best first."""
        embedding = embedding or self.embedder.embed_query(query)
        n = max(k * 4, MIN_CANDIDATES)
        with self.connected() as store:
            dense = store.query(embedding, n)
            if self.mode == "dense":
                return [Passage.from_chunk(c, s, s) for c, s in dense[:k]]
            self._refresh_bm25(store)
        sparse = self._bm25.search(query, n)  # one snapshot, even if swapped meanwhile
        similarities = {chunk.chunk_id: similarity for chunk, similarity in dense}
        return _fuse([dense, sparse], k, similarities)

    def _refresh_bm25(self, store: ChunkStore) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._refresh_seconds:
            return
        with self._lock:
            revision = store.revision()
            if revision != self._bm25.revision:
                chunks = list(store.iter_chunks(include_text=True))
                self._bm25 = _Bm25Index(chunks, revision)
                logger.info("BM25 index rebuilt over %d chunks", len(chunks))
            self._checked_at = now


def _fuse(
    rankings: list[list[tuple[StoredChunk, float]]], k: int, similarities: dict[str, float]
) -> list[Passage]:
    scores: dict[str, float] = {}
    chunks: dict[str, StoredChunk] = {}
    for ranking in rankings:
        for rank, (chunk, _) in enumerate(ranking):
            scores[chunk.chunk_id] = scores.get(chunk.chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
            chunks[chunk.chunk_id] = chunk
    best = sorted(scores, key=lambda cid: -scores[cid])[:k]
    return [Passage.from_chunk(chunks[cid], scores[cid], similarities.get(cid)) for cid in best]
