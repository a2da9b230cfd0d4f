"""The index contract: one Chroma collection of chunks, on disk or on a Chroma server.

Every chunk carries ``document_id``, ``title``, ``source``, ``published``, ``start``, ``end``,
``chunk_index``, ``n_chunks``, ``doc_hash`` (the hash of the document version it came from),
``origin`` (who stored it: ``"upload"`` over the documents API, ``"folder"`` by
``citechat ingest`` or ``"sync"`` by ``citechat sync``) and ``folder`` (the resolved folder
``citechat ingest`` found its file in, or the name of the sync source; empty for an upload).
Uploads, folders and sync sources never replace or prune each other's documents unless asked
to (docs/documents.md, docs/sync.md).
A document is complete when all ``n_chunks`` chunks of exactly one ``doc_hash`` are stored.
Filters select on ``published_day`` and ``source_host`` (ingestion/filter_fields.py).

Chunks stored before ``origin`` was recorded have none: with a ``folder`` they belong to that
folder; without one, their owner is unknown and the next explicit writer (a folder ingest or an
upload) claims them.
"""

import errno
import json
import logging
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.api.collection_configuration import UpdateHNSWConfiguration
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Metadata
from chromadb.errors import ChromaError, InternalError, NotFoundError

from ingestion import filter_fields
from ingestion.collections import CollectionNotFound
from ingestion.errors import AppError
from ingestion.settings import IndexSettings

logger = logging.getLogger(__name__)

PAGE = 1000
UPLOAD = "upload"  # origins: a document stored over the documents API...
FOLDER = "folder"  # ...or by `citechat ingest` from a folder...
SYNC = "sync"  # ...or by `citechat sync` from a source (its name is the "folder")
# The change log kept in the collection's metadata lists at most this many document ids;
# a reader that fell further behind reads the whole collection again.
CHANGE_LOG_LIMIT = 500
# How Chroma's HNSW index of a collection is searched and saved.
# - It logs the vectors added since it last saved the index and adds them again when a process
#   opens the collection: those beyond its brute-force batch went into the graph anew, each time
#   differently, and a query could then miss its nearest chunks (results that change between
#   restarts: chroma-core/chroma#3638). Saving the index at every batch (of 100, Chroma's
#   batch_size) keeps what is replayed within one batch, which is searched exactly.
# - Its default ef_search of 100 missed one of the 5 nearest chunks for 4 of the 238 realtimeqa
#   questions (recall@40 0.985); at 500 none (0.9995).
HNSW: UpdateHNSWConfiguration = {"ef_search": 500, "sync_threshold": 100}

# What a failing store raises: Chroma's own errors, the HTTP client's (timeouts, refused
# connections), the OS's and SQLite's (on disk). Anything else is a bug, not an outage.
STORE_ERRORS: tuple[type[Exception], ...] = (ChromaError, httpx.HTTPError, OSError, sqlite3.Error)
# An on-disk write takes about this many times its raw bytes (texts, metadata, vectors): Chroma's
# log, its metadata segment with the full-text index, the vector index (3.1-3.8 measured).
WRITE_FACTOR = 5
# A store error with less free space than this on its disk is told as a full disk (Chroma's own
# message may not say so: "Error in compaction").
FULL_BELOW_BYTES = 1_000_000


class StoreUnavailable(AppError):
    """The vector store cannot be reached. The message says where it was looked for; a client
    is told only that it is unavailable (a host or path is not for clients to see)."""

    code = "store_unavailable"
    status_code = 503

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.detail = "the vector store is unavailable"


class StoreFull(StoreUnavailable):
    """The disk holding an on-disk store has no room for a write (or had none); a 503 as
    any unavailable store, with its own code."""

    code = "store_full"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.detail = "the vector store's disk is full"


@dataclass(frozen=True)
class DiskSpace:
    """The disk holding an on-disk store, and the bytes its writes leave free on it."""

    path: Path
    keep_free: int

    def free(self) -> int:
        return shutil.disk_usage(self.path).free

    def check(self, needed: int) -> None:
        """Raise :class:`StoreFull` unless ``needed`` bytes fit above ``keep_free``."""
        free = self.free()
        if free - needed < self.keep_free:
            raise StoreFull(
                f"not enough disk space for the vector store at {self.path}: {_mb(free)} free, "
                f"the write needs about {_mb(needed)} and {_mb(self.keep_free)} is kept free "
                "(CITECHAT_MIN_FREE_DISK_BYTES); free some space and run again"
            )

    def is_full(self, exc: BaseException) -> bool:
        """True when ``exc`` says the disk is full, or the disk has less free than
        ``keep_free`` (at least ``FULL_BELOW_BYTES``)."""
        said = f"{exc}".lower()
        if getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in said:
            return True
        try:
            return self.free() < max(self.keep_free, FULL_BELOW_BYTES)
        except OSError:
            return False


def disk_space(settings: IndexSettings) -> DiskSpace | None:
    """The disk of the settings' store when it is on disk, not on a Chroma server."""
    if settings.chroma_host:
        return None
    return DiskSpace(settings.chroma_path, settings.min_free_disk_bytes)


def store_failure(exc: BaseException, where: str, disk: DiskSpace | None) -> StoreUnavailable:
    """``exc``, a failure of the store at ``where``, as users see it (one line)."""
    said = " ".join(f"{exc}".split()) or type(exc).__name__
    if disk is not None and disk.is_full(exc):
        return StoreFull(f"the disk holding the vector store at {where} is full: {said}")
    return StoreUnavailable(f"vector store at {where} unavailable: {said}")


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


class EmbeddingModelMismatch(AppError):
    """The collection was built with another embedding model."""

    code = "index_mismatch"
    status_code = 503


@dataclass
class StoredDocument:
    document_id: str
    title: str
    source: str
    published: str
    folder: str = ""  # the folder it was ingested from (absolute), the sync source's name, or ""
    origin: str = ""  # UPLOAD, FOLDER, SYNC, or "" when stored before origins were recorded
    chunks: int = 0
    hashes: dict[str, int] = field(default_factory=dict)  # doc_hash -> chunks stored
    expected: dict[str, int] = field(default_factory=dict)  # doc_hash -> n_chunks

    def is_complete(self, doc_hash: str) -> bool:
        """True when exactly the chunks of ``doc_hash`` are stored, all of them."""
        return set(self.hashes) == {doc_hash} and self.hashes[doc_hash] == self.expected[doc_hash]


@dataclass(frozen=True)
class StoreState:
    """The collection's ``revision`` (new on every write) and its log of changed documents.

    ``changes`` holds ``(generation, document ids)`` per write, oldest first; ``None`` stands
    for more documents than the log keeps.
    """

    revision: str
    generation: int
    changes: list[tuple[int, list[str] | None]]
    filterable: bool = False  # every chunk holds the fields filters select on

    def changed_since(self, generation: int) -> set[str] | None:
        """The documents changed after ``generation``; None when the log does not tell."""
        entries = [(g, ids) for g, ids in self.changes if g > generation]
        if [g for g, _ in entries] != list(range(generation + 1, self.generation + 1)):
            return None  # fell behind the log, or two writers wrote at once
        changed: set[str] = set()
        for _, ids in entries:
            if ids is None:
                return None
            changed.update(ids)
        return changed


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    text: str
    metadata: dict[str, Any]


def open_client(settings: IndexSettings) -> ClientAPI:
    """A Chroma client: HTTP when ``chroma_host`` is set, else on disk under the data dir.

    Every call of an HTTP client gives up after ``store_timeout`` seconds, so a frozen server
    makes requests fail fast instead of holding a worker.
    """
    chroma_settings = chromadb.config.Settings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            # chromadb's HttpClient calls the server with no timeout, even while it is built:
            # check the server answers first, then give its session the timeout.
            url = f"{describe(settings)}/api/v2/heartbeat"
            httpx.get(url, timeout=settings.store_timeout).raise_for_status()
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            client._server._session.timeout = httpx.Timeout(settings.store_timeout)  # type: ignore[attr-defined]
            return client
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except STORE_ERRORS + (ValueError,) as exc:  # chromadb: ValueError when it finds no server
        disk = disk_space(settings)
        if disk is not None and disk.is_full(exc):
            raise store_failure(exc, describe(settings), disk) from exc
        raise StoreUnavailable(f"vector store at {describe(settings)} unreachable: {exc}") from exc


def identity(collection: Collection) -> str:
    """A Chroma collection's name and id (:attr:`ChunkStore.identity`)."""
    return f"{collection.name}-{collection.id}"


def describe(settings: IndexSettings) -> str:
    if settings.chroma_host:
        return f"http://{settings.chroma_host}:{settings.chroma_port}"
    return str(settings.chroma_path)


P = ParamSpec("P")
R = TypeVar("R")


def _translated(
    method: "Callable[Concatenate[ChunkStore, P], R]",
) -> "Callable[Concatenate[ChunkStore, P], R]":
    """``method`` raising the store's failures as :class:`StoreUnavailable` (or StoreFull)."""

    @wraps(method)
    def call(self: "ChunkStore", /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except NotFoundError as exc:  # the collection was deleted meanwhile
            raise CollectionNotFound(f"collection {self.collection.name!r} was deleted") from exc
        except STORE_ERRORS as exc:
            raise self.failure(exc) from exc

    return call


class ChunkStore:
    """Reads and writes the chunks of one collection; its methods raise the store's failures
    as :class:`StoreUnavailable` (:class:`StoreFull` for a full disk)."""

    def __init__(
        self,
        client: ClientAPI,
        name: str,
        embed_model: str,
        *,
        where: str = "",
        disk: DiskSpace | None = None,
        create: bool = True,
    ) -> None:
        """Open collection ``name``, made now unless it exists; with ``create`` false, raise
        chromadb's ``NotFoundError`` instead."""
        self.client = client
        self.where = where or name  # the store's address or path, for messages
        self.disk = disk  # on disk: writes that would leave it too full are refused
        if create:
            self.collection: Collection = client.get_or_create_collection(
                name,
                configuration={"hnsw": {"space": "cosine"}},
                # a new collection's chunks all get the filter fields: nothing to backfill
                metadata={"embed_model": embed_model, filter_fields.FLAG: filter_fields.VERSION},
                embedding_function=None,
            )
        else:
            self.collection = client.get_collection(name, embedding_function=None)
        hnsw = self.collection.configuration_json.get("hnsw")
        if hnsw is not None and any(hnsw.get(key) != value for key, value in HNSW.items()):
            self.collection.modify(configuration={"hnsw": HNSW})  # new, or made before HNSW
        stored_model = (self.collection.metadata or {}).get("embed_model")
        if stored_model and stored_model != embed_model:
            raise EmbeddingModelMismatch(
                f"collection {name!r} was built with {stored_model!r}, not {embed_model!r}: "
                "use another CITECHAT_COLLECTION or re-ingest into an empty one"
            )
        self._embed_model = embed_model
        self._changed: set[str] = set()  # documents written since the last bump_revision()

    def failure(self, exc: BaseException) -> StoreUnavailable:
        """``exc``, raised by a call of this store, as users see it."""
        return store_failure(exc, self.where, self.disk)

    @property
    def identity(self) -> str:
        """The collection's name and id: a collection deleted and created again gets a new one."""
        return identity(self.collection)

    @_translated
    def close(self) -> None:
        """Release the client; on disk, the next client reads the store afresh from disk."""
        self.client.close()  # type: ignore[attr-defined]  # HttpClient and PersistentClient have it

    def iter_chunks(self, include_text: bool = False) -> Iterator[StoredChunk]:
        include: list[Any] = ["metadatas", "documents"] if include_text else ["metadatas"]
        offset = 0
        while True:
            page = self._page(include, offset)
            ids = page["ids"]
            texts = page.get("documents") or [""] * len(ids)
            for chunk_id, text, meta in zip(ids, texts, page["metadatas"] or [], strict=True):
                yield StoredChunk(chunk_id, text or "", dict(meta))
            if len(ids) < PAGE:
                return
            offset += PAGE

    @_translated
    def _page(self, include: list[Any], offset: int) -> Any:
        return self.collection.get(include=include, limit=PAGE, offset=offset)

    def documents(self) -> dict[str, StoredDocument]:
        """The stored documents with their chunk counts per version, by id."""
        return _collect(chunk.metadata for chunk in self.iter_chunks())

    def document_texts(self) -> dict[str, str]:
        """The text of every stored document, put back together from its chunks' offsets."""
        pieces: dict[str, list[tuple[int, str]]] = {}
        for chunk in self.iter_chunks(include_text=True):
            document_id = str(chunk.metadata["document_id"])
            pieces.setdefault(document_id, []).append((int(chunk.metadata["start"]), chunk.text))
        return {doc: merge_chunks(parts) for doc, parts in pieces.items()}

    @_translated
    def document(self, document_id: str) -> StoredDocument | None:
        """One stored document, or None."""
        page = self.collection.get(where={"document_id": document_id}, include=["metadatas"])
        return _collect(dict(meta) for meta in page["metadatas"] or []).get(document_id)

    @_translated
    def upsert(
        self,
        ids: list[str],
        texts: list[str],
        embeddings: list[list[float]],
        metadatas: list[dict[str, Any]],
    ) -> None:
        """Write chunks; on disk, raise :class:`StoreFull` first unless they fit."""
        if self.disk is not None:
            raw = sum(len(t.encode()) for t in texts) + len(json.dumps(metadatas))
            self.disk.check(WRITE_FACTOR * (raw + 4 * sum(map(len, embeddings))))
        vectors: list[Sequence[float]] = [*embeddings]  # the element types chromadb declares
        metas: list[Metadata] = [*metadatas]
        self.collection.upsert(ids=ids, documents=texts, embeddings=vectors, metadatas=metas)
        self._changed.update(str(meta["document_id"]) for meta in metadatas)

    @_translated
    def set_owner(self, document_id: str, origin: str, folder: str) -> None:
        """Record who owns a stored document: ``origin`` and, for a folder, which one."""
        page = self.collection.get(where={"document_id": document_id}, include=["metadatas"])
        metadatas: list[Metadata] = [
            {**meta, "origin": origin, "folder": folder} for meta in page["metadatas"] or []
        ]
        self.collection.update(ids=page["ids"], metadatas=metadatas)

    @_translated
    def delete_document(self, document_id: str, keep_hash: str | None = None) -> None:
        """Delete a document's chunks, except those of version ``keep_hash``."""
        where: dict[str, Any] = {"document_id": document_id}
        if keep_hash is not None:
            where = {"$and": [where, {"doc_hash": {"$ne": keep_hash}}]}
        self.collection.delete(where=where)
        self._changed.add(document_id)

    @_translated
    def delete_version(self, document_id: str, doc_hash: str) -> None:
        """Delete the chunks of version ``doc_hash`` of a document, and only those."""
        self.collection.delete(
            where={"$and": [{"document_id": document_id}, {"doc_hash": doc_hash}]}
        )
        self._changed.add(document_id)

    @_translated
    def chunks_of(self, document_ids: list[str]) -> list[StoredChunk]:
        """The stored chunks of ``document_ids``, with their texts."""
        chunks = []
        for start in range(0, len(document_ids), 100):
            where: dict[str, Any] = {"document_id": {"$in": document_ids[start : start + 100]}}
            page = self.collection.get(where=where, include=["metadatas", "documents"])
            for chunk_id, text, meta in zip(
                page["ids"], page["documents"] or [], page["metadatas"] or [], strict=True
            ):
                chunks.append(StoredChunk(chunk_id, text or "", dict(meta)))
        return chunks

    @_translated
    def query(
        self,
        embedding: Sequence[float],
        n: int,
        where: dict[str, Any] | None = None,
        among: list[str] | None = None,
    ) -> list[tuple[str, float]]:
        """The ids of the ``n`` nearest chunks (among those matching the metadata filter
        ``where``) with their cosine similarity, best first; read their texts and metadata with
        :meth:`get_chunks`, which also leaves out a chunk deleted by another process since this
        client loaded its vector index (on disk, until the reader reopens the store).

        ``among``: the ids of the chunks ``where`` matches, as the caller knows them, searched
        instead (Chroma evaluates a ``where`` row by row, a list of ids several times faster);
        if one of them is no longer stored, ``where`` is used after all.
        """
        if among:
            try:
                result = self.collection.query(
                    query_embeddings=[embedding], n_results=n, ids=among, include=["distances"]
                )
            except InternalError:  # "Error finding id": deleted since the caller listed it
                among = None
        if not among:
            result = self.collection.query(
                query_embeddings=[embedding], n_results=n, where=where, include=["distances"]
            )
        distances = (result["distances"] or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], distances, strict=True)]

    @_translated
    def get_chunks(self, ids: list[str]) -> list[StoredChunk]:
        """The stored chunks among ``ids``, in that order; ids no longer stored are left out."""
        if not ids:
            return []
        page = self.collection.get(ids=ids, include=["metadatas", "documents"])
        found = {
            chunk_id: StoredChunk(chunk_id, text or "", dict(meta))
            for chunk_id, text, meta in zip(
                page["ids"], page["documents"] or [], page["metadatas"] or [], strict=True
            )
            if meta is not None
        }
        return [found[chunk_id] for chunk_id in ids if chunk_id in found]

    @_translated
    def state(self) -> StoreState:
        """The revision and change log, read afresh (a collection object keeps the metadata
        it was fetched with)."""
        metadata = self.client.get_collection(self.collection.name).metadata or {}
        changes = [(int(g), ids) for g, ids in json.loads(str(metadata.get("changes", "[]")))]
        return StoreState(
            str(metadata.get("revision", "")),
            int(metadata.get("generation", 0)),
            changes,
            metadata.get(filter_fields.FLAG) == filter_fields.VERSION,
        )

    def revision(self) -> str:
        """Changes whenever the chunks change, so readers know to refresh derived indexes."""
        return self.state().revision

    def bump_revision(self) -> None:
        """Publish the writes since the last call: a new revision, and the documents changed
        in the change log, so readers update only those."""
        changed = sorted(self._changed) if len(self._changed) <= CHANGE_LOG_LIMIT else None
        self._publish(changed, filterable=False)
        self._changed.clear()

    @_translated
    def backfill(self) -> int:
        """Give every chunk the fields filters select on, unless the collection is marked as
        having them; then mark it. Returns how many chunks it updated (or found deleted).

        Idempotent, and safe beside writers and other backfills: the chunks are listed first
        (later ones are written with the fields), each one gets only the fields its own
        ``published`` and ``source`` give (an update adds keys, keeping the others; a chunk
        deleted meanwhile is skipped), and the mark is published as a write naming more
        documents than the log keeps: readers then read the whole store again, so a writer's
        change published at the same moment is not missed even if its log entry is (at worst
        the mark is lost, and the next open backfills again, finding nothing to update).
        """
        if self.state().filterable:
            return 0
        ids = self.collection.get(include=[])["ids"]
        updated = 0
        for start in range(0, len(ids), PAGE):
            page = self.collection.get(ids=ids[start : start + PAGE], include=["metadatas"])
            stale = [
                (chunk_id, missing)
                for chunk_id, meta in zip(page["ids"], page["metadatas"] or [], strict=True)
                if meta is not None and (missing := filter_fields.missing_fields(dict(meta)))
            ]
            if stale:
                metadatas: list[Metadata] = [missing for _, missing in stale]
                self.collection.update(ids=[i for i, _ in stale], metadatas=metadatas)
                updated += len(stale)
        self._publish(None, filterable=True)
        logger.info("filter fields backfilled on %d of %d chunks", updated, len(ids))
        return updated

    @_translated
    def _publish(self, changed: list[str] | None, filterable: bool) -> None:
        """A new revision, logging ``changed`` as the documents changed (None: too many to
        name); the collection marked as filterable when ``filterable`` or already so."""
        state = self.state()
        generation = state.generation + 1
        changes = [*state.changes, (generation, changed)]
        while sum(len(ids or [None]) for _, ids in changes) > CHANGE_LOG_LIMIT:
            changes.pop(0)
        metadata: dict[str, Any] = {
            "embed_model": self._embed_model,
            "revision": uuid.uuid4().hex,
            "generation": generation,
            "changes": json.dumps(changes),
        }
        if filterable or state.filterable:
            metadata[filter_fields.FLAG] = filter_fields.VERSION
        self.collection.modify(metadata=metadata)


def merge_chunks(parts: Iterable[tuple[int, str]]) -> str:
    """Rebuild a text from ``(start offset, text)`` pieces that overlap or abut."""
    text = ""
    for start, piece in sorted(parts):
        if start > len(text):
            text += " " * (start - len(text))  # a gap the chunks do not cover
        if start + len(piece) > len(text):
            text = text[:start] + piece
    return text


def _collect(metadatas: Iterable[dict[str, Any]]) -> dict[str, StoredDocument]:
    docs: dict[str, StoredDocument] = {}
    for meta in metadatas:
        doc_id = str(meta["document_id"])
        doc = docs.get(doc_id)
        if doc is None:
            doc = docs[doc_id] = StoredDocument(
                doc_id, str(meta["title"]), str(meta["source"]), str(meta["published"])
            )
        doc.folder = str(meta.get("folder", ""))
        doc.origin = str(meta.get("origin") or (FOLDER if doc.folder else ""))
        doc.chunks += 1
        doc_hash = str(meta["doc_hash"])
        doc.hashes[doc_hash] = doc.hashes.get(doc_hash, 0) + 1
        doc.expected[doc_hash] = int(meta["n_chunks"])
    return docs
