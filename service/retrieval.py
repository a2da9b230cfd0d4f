"""Hybrid retrieval: dense vectors from Chroma plus BM25 (bm25s), fused by reciprocal rank."""

import logging
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Literal

from ingestion.collections import CollectionNotFound
from ingestion.embeddings import Embedder
from ingestion.filter_fields import day_number, source_host
from ingestion.sentences import METADATA_KEY
from ingestion.store import ChunkStore, StoredChunk, StoreState, StoreUnavailable
from ingestion.store_client import StoreConnection
from service.filters import Filters
from service.lexical import LexicalChunk, LexicalIndex, tokenize
from service.lexical_snapshots import Snapshot, SnapshotStore

__all__ = ["IndexStatus", "Passage", "Retriever", "fuse", "tokenize"]

logger = logging.getLogger(__name__)

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al., 2009)
LEXICAL_WEIGHT = 1.0  # BM25's rank weight in the fusion, the dense ranking's being 1
MIN_CANDIDATES = 20
# A filtered vector search lists the chunks the filters admit (known from the BM25 index) to
# Chroma when there are at most this many, else passes Chroma the filters' ``where``.
MAX_LISTED = 5000
POLL_FLOOR_SECONDS = 0.1  # the refresh thread's shortest pause, when refresh_seconds is 0
# The delta of changed documents is merged into a new base index past this size.
MIN_DELTA, DELTA_SHARE = 2000, 0.05
START_WAIT_SECONDS = 5.0  # how long a starting server waits for BM25 before going dense-only
STOP_WAIT_SECONDS = 3.0  # how long a stopping server waits for the refresh thread (a daemon)
# Rows of a loaded BM25 snapshot compared with the store's chunks before it is used.
CHECKED_ROWS = 32


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


@dataclass(frozen=True)
class IndexStatus:
    """What a replica serves: the store revision it follows and the state of its BM25 index."""

    revision: str | None
    lexical: Literal["ready", "loading", "off"]
    chunks: int  # in the BM25 index


class Retriever:
    """Finds the passages that best match a query, following the store as it changes.

    Every write to the store changes its ``revision``. The retriever checks it at most every
    ``refresh_seconds`` (on the next search, or from a thread once :meth:`start` is called)
    and, when it changed, updates its BM25 index with the documents the store's change log
    names (or rebuilds it from the whole store, or at start loads a saved snapshot), to the
    side, and swaps it in whole. An on-disk store is reopened too (``reopen_on_change``): a
    Chroma client keeps the vector index it loaded and never sees another process's writes.
    Passages are read from the store after ranking, so a chunk deleted meanwhile is never cited.

    :class:`Filters` bound both rankings before the best are taken. A store written before
    filters existed gets their metadata fields first (:meth:`ChunkStore.backfill`, once).
    """

    def __init__(
        self,
        store: StoreConnection,
        embedder: Embedder,
        mode: Literal["hybrid", "dense"] = "hybrid",
        refresh_seconds: float = 2.0,
        reopen_on_change: bool = False,
        snapshots: SnapshotStore | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.mode = mode
        self._refresh_seconds = refresh_seconds
        self._reopen_on_change = reopen_on_change
        self._snapshots = snapshots
        self._checked_at = float("-inf")
        self._revision: str | None = None
        self._generation = 0
        self._collection: str | None = None  # the identity of the collection BM25 was read from
        self._lexical: LexicalIndex | None = None
        self._filterable = False  # the store's chunks all hold the fields filters select on
        self._backfill_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._stopped = threading.Event()
        self._first_round = threading.Event()
        self._poller: threading.Thread | None = None

    def status(self) -> IndexStatus:
        """What this retriever serves; raises :class:`StoreUnavailable` unless the store answers."""
        self.store.check()
        lexical = self._lexical
        state: Literal["ready", "loading", "off"] = "ready"
        if self.mode == "dense":
            state = "off"
        elif lexical is None:
            state = "loading"
        return IndexStatus(self._revision, state, len(lexical) if lexical else 0)

    @property
    def lexical(self) -> LexicalIndex | None:
        """The BM25 index searches use now (None in dense mode or until it is built)."""
        return self._lexical

    def search(
        self,
        query: str,
        k: int,
        embedding: list[float] | None = None,
        filters: Filters | None = None,
    ) -> list[Passage]:
        """The ``k`` best passages for ``query`` (embedded unless ``embedding`` is), best first;
        with ``filters``, the ``k`` best of the passages they admit."""
        embedding = embedding or self.embedder.embed_query(query)
        n = candidates(k)
        if self._poller is None:
            self._refresh_if_due()
        filters = self._active(filters)
        where = filters.where() if filters is not None else None
        lexical = self._lexical  # one snapshot, even if swapped meanwhile
        among = admission = None
        if filters is not None and lexical is not None:
            admission = lexical.admission(filters)
            among = lexical.admitted_ids(admission, MAX_LISTED)
        with self.store.connected() as store:
            dense = store.query(embedding, n, where, among)
            if self.mode == "dense" or lexical is None:
                ranked = dense
            else:
                ranked = fuse(dense, lexical.search(query, n, admission))
            # Texts and metadata of the best only (reading them for every candidate costs more
            # than the vector search): a chunk deleted meanwhile is left out, the next one used.
            best = ranked[: 2 * k]
            chunks = store.get_chunks([chunk_id for chunk_id, _ in best])
        scores, similarities = dict(best), dict(dense)
        return [
            Passage.from_chunk(c, scores[c.chunk_id], similarities.get(c.chunk_id))
            for c in chunks[:k]
        ]

    def mentions(self, text: str, filters: Filters | None = None) -> bool | None:
        """Whether a document (of those ``filters`` admit) has a word of ``text``, by the BM25
        index; None when it cannot tell (dense mode, an index not built yet, a stop word)."""
        lexical = self._lexical
        if lexical is None or self.mode == "dense":
            return None
        filters = self._active(filters)
        return lexical.mentions(text, lexical.admission(filters) if filters is not None else None)

    def start(self, wait_seconds: float = START_WAIT_SECONDS) -> None:
        """Follow the store from a thread, which builds BM25 first and then checks for changes
        every ``refresh_seconds``. Waits up to ``wait_seconds`` for that first build; past
        it, searches are dense-only until the build is done."""
        if self._poller is None:
            self._poller = threading.Thread(target=self._poll, name="index-refresh", daemon=True)
            self._poller.start()
            self._first_round.wait(wait_seconds)

    def stop(self) -> None:
        """Stop following the store; a refresh still running after ``STOP_WAIT_SECONDS``
        (a long build, a store call that does not return) ends with the process."""
        self._stopped.set()
        if self._poller is not None:
            self._poller.join(timeout=STOP_WAIT_SECONDS)

    def refresh(self) -> None:
        """Catch up with the store now, if its revision changed."""
        with self._refresh_lock:
            self._make_filterable()
            with self.store.connected() as store:
                state = store.state()
            if state.revision == self._revision:
                return
            if self._reopen_on_change and self._revision is not None:
                self.store.reopen()
            lexical = None
            if self.mode == "hybrid":
                started = time.perf_counter()
                with self.store.connected() as store:
                    collection = store.identity
                    self._lexical = lexical = self._next_lexical(store, state, collection)
                    self._collection = collection
                seconds = time.perf_counter() - started
                logger.info("BM25 index updated to %d chunks in %.2f s", len(lexical), seconds)
            self._revision = state.revision
            self._generation = state.generation
            if self._snapshots is not None and lexical is not None and lexical.savable:
                self._snapshots.save(collection, state.generation, state.revision, lexical)

    def _active(self, filters: Filters | None) -> Filters | None:
        """``filters`` when they select anything (the store's filter fields backfilled first),
        else None."""
        if filters is None or not filters.active:
            return None
        self._make_filterable()
        return filters

    def _make_filterable(self) -> None:
        """Backfill the store's filter fields unless this retriever knows they are there."""
        if self._filterable:
            return
        with self._backfill_lock:
            if not self._filterable:
                with self.store.connected() as store:
                    store.backfill()
                self._filterable = True

    def _next_lexical(self, store: ChunkStore, state: StoreState, collection: str) -> LexicalIndex:
        """The current index (at start, a saved snapshot) updated with the documents the
        change log names, or (log too short, or the delta grown large) a new index over the
        whole store."""
        current, generation = self._lexical, self._generation
        if collection != self._collection:  # deleted and made again: its log starts afresh
            current, generation = None, 0
        if current is None and self._snapshots is not None:
            snapshot = self._snapshots.load(
                collection, partial(_can_follow, state), partial(_check_snapshot, store, state)
            )
            if snapshot is not None:
                current, generation = snapshot.index, snapshot.generation
                if not current.filterable:  # saved before filters: its rows' fields are read
                    current = current.with_fields(
                        {
                            doc.document_id: (day_number(doc.published), source_host(doc.source))
                            for doc in store.documents().values()
                        }
                    )
        changed = state.changed_since(generation) if current is not None else None
        if current is not None and changed is not None:
            chunks = store.chunks_of(sorted(changed))
            updated = current.updated(changed, [_lexical_chunk(c) for c in chunks])
            if updated.delta_size <= max(MIN_DELTA, len(updated) * DELTA_SHARE):
                return updated
        return LexicalIndex([_lexical_chunk(c) for c in store.iter_chunks(include_text=True)])

    def _refresh_if_due(self) -> None:
        now = time.monotonic()
        if now - self._checked_at >= self._refresh_seconds:
            self.refresh()
            self._checked_at = now

    def _poll(self) -> None:
        while not self._stopped.is_set():
            try:
                self.refresh()
            except (StoreUnavailable, CollectionNotFound):
                pass  # logged by connected(), or deleted; /readyz reports it; tried again
            except Exception:
                logger.exception("index refresh failed")
            self._first_round.set()
            self._stopped.wait(max(self._refresh_seconds, POLL_FLOOR_SECONDS))


def candidates(k: int) -> int:
    """How many chunks each side of retrieval ranks to find the ``k`` best."""
    return max(k * 4, MIN_CANDIDATES)


def _can_follow(state: StoreState, generation: int, revision: str) -> bool:
    """True when an index read at ``generation``/``revision`` can be brought up to ``state``
    by the change log."""
    if revision == state.revision:
        return True
    return generation < state.generation and state.changed_since(generation) is not None


def _check_snapshot(store: ChunkStore, state: StoreState, snapshot: Snapshot) -> None:
    """Raise ``ValueError`` unless rows of ``snapshot`` picked at random, of documents not
    changed since, hold the chunks the store holds under their ids."""
    changed = state.changed_since(snapshot.generation) or set()
    picked = snapshot.index.sample(CHECKED_ROWS, leaving_out=changed)
    chunks = store.get_chunks(picked)
    if len(chunks) != len(picked):
        raise ValueError(f"{len(picked) - len(chunks)} of {len(picked)} rows checked not stored")
    snapshot.index.check_rows([_lexical_chunk(c) for c in chunks])


def _lexical_chunk(chunk: StoredChunk) -> LexicalChunk:
    """The chunk as BM25 indexes it; its filter fields come from its ``published`` and
    ``source``, so they do not wait for a backfill."""
    meta = chunk.metadata
    return LexicalChunk(
        chunk.chunk_id,
        str(meta["document_id"]),
        chunk.text,
        day_number(str(meta["published"])),
        source_host(str(meta["source"])),
    )


def fuse(
    dense: list[tuple[str, float]],
    sparse: list[tuple[str, float]],
    rrf_k: float = RRF_K,
    lexical_weight: float = LEXICAL_WEIGHT,
) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion of two rankings of chunk ids: the ids with their fused
    scores, best first."""
    scores: dict[str, float] = {}
    for ranking, weight in ((dense, 1.0), (sparse, lexical_weight)):
        for rank, (chunk_id, _) in enumerate(ranking):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (rrf_k + rank + 1)
    return sorted(scores.items(), key=lambda item: -item[1])
