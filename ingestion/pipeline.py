"""Ingest files into the chunk store: idempotent by content hash, safe to re-run after a crash.

A changed document's new chunks are written first and its old ones deleted after, so a run
killed at any point leaves at most extra chunks that the next run removes.

Every document has an owner (ingestion/store.py): a folder ingest writes and prunes only the
documents of that folder (or of no recorded owner), unless told to replace the others; a sync
source (ingestion/sync.py) likewise writes and prunes only its own.
"""

import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from ingestion.chunking import Chunk, split_document
from ingestion.embeddings import Embedder
from ingestion.errors import AppError
from ingestion.filter_fields import filter_fields
from ingestion.loaders import (
    Discovery,
    FileLimits,
    LoadedDocument,
    LoadError,
    discover,
    load_document,
    shown,
)
from ingestion.sentences import METADATA_KEY, embed_with_sentences
from ingestion.store import FOLDER, SYNC, UPLOAD, ChunkStore, StoredDocument

if TYPE_CHECKING:  # imported when a splitter is built (ingestion.chunking)
    from llama_index.core.node_parser import SentenceSplitter

BATCH = 256  # chunks embedded and written per round
RACED = "stored meanwhile by an upload or another ingest: not replaced"
SORT_WINDOW = 1024  # chunks put in length order together, so embedding batches need little padding


class WrittenMeanwhile(AppError):
    """Another writer stored a version of the document while this one was being embedded."""

    code = "conflict"
    status_code = 409


@dataclass
class IngestReport:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    pruned: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path as shown, reason)

    def add(self, other: "IngestReport") -> None:
        """Count ``other``'s documents, chunks, time and failures in this report too."""
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.pruned += other.pruned
        self.chunks_embedded += other.chunks_embedded
        self.seconds += other.seconds
        self.failed += other.failed

    def summary(self) -> str:
        return (
            f"files: {self.new} new, {self.changed} changed, {self.unchanged} unchanged, "
            f"{len(self.failed)} failed, {self.pruned} pruned; "
            f"{self.chunks_embedded} chunks embedded in {self.seconds:.1f} s"
        )


@dataclass
class _Pending:
    doc: LoadedDocument
    origin: str
    folder: str
    chunks: list[Chunk]
    known: set[str]  # the versions stored when the run read the store: the others are not ours
    path: str = ""  # the file, as shown
    written: int = 0
    raced: bool = False  # another writer stored a version meanwhile: this one was taken back


ProgressFactory = Callable[[int], Any]  # total -> object with update(n) and close()


def ingest(
    paths: list[Path],
    store: ChunkStore,
    embedder: Embedder,
    splitter: "SentenceSplitter",
    *,
    limits: FileLimits,
    prune: bool = False,
    replace: bool = False,
    progress: ProgressFactory | None = None,
) -> IngestReport:
    """Bring the store in line with the files under ``paths``.

    A path that does not exist raises :class:`FileNotFoundError` before anything is stored.
    A file whose id is held by an upload or by another folder fails with the reason, and the
    document is left as it is, unless ``replace`` (the folder then owns it). With ``prune``,
    documents ingested from under a folder given whose files are gone are removed; uploads
    and documents from elsewhere are left alone.
    """
    started = time.perf_counter()
    found = [(path, discover(path)) for path in paths]
    report = IngestReport()
    stored = store.documents()
    seen: set[str] = set()
    pending: list[_Pending] = []
    for path, discovery in found:
        report.failed += discovery.failed
        folder = str((path if path.is_dir() else path.parent).resolve())
        for file in discovery.files:
            if file.document_id in seen:
                reason = f"duplicate document id {file.document_id!r}"
                report.failed.append((shown(file.path), reason))
                continue
            seen.add(file.document_id)
            old = stored.get(file.document_id)
            try:
                if not replace:
                    _check_owner(old, FOLDER, folder, " (--replace replaces it)")
                doc = load_document(file.path, file.document_id, limits)
                item = _plan(doc, FOLDER, folder, old, splitter, report)
            except LoadError as exc:
                report.failed.append((shown(file.path), str(exc)))
                continue
            if item is not None:
                item.path = shown(file.path)
                pending.append(item)
            elif old is not None and (old.origin, old.folder) != (FOLDER, folder):
                store.set_owner(doc.document_id, FOLDER, folder)

    try:
        _write(pending, store, embedder, report, progress)
    except BaseException:
        if report.chunks_embedded:  # publish what was written: a re-run finds it unchanged
            with suppress(AppError):  # the store failing too: the first error is the one told
                store.bump_revision()
        raise
    for item in pending:
        if item.raced:
            report.failed.append((item.path, RACED))
    if prune:
        for path, discovery in found:
            for document_id in _gone(path, discovery, stored.values()):
                store.delete_document(document_id)
                report.pruned += 1
    if pending or report.pruned:
        store.bump_revision()
    report.seconds = time.perf_counter() - started
    return report


def ingest_document(
    doc: LoadedDocument, store: ChunkStore, embedder: Embedder, splitter: "SentenceSplitter"
) -> IngestReport:
    """Store one document that has no file (an upload), the same way :func:`ingest` does; the
    upload then owns it, whoever did before (the caller decides whether it may).

    Raises :class:`LoadError` when the document cannot be split into chunks, and
    :class:`WrittenMeanwhile` when another writer stored it while it was being embedded.
    """
    started = time.perf_counter()
    report = IngestReport()
    old = store.document(doc.document_id)
    item = _plan(doc, UPLOAD, "", old, splitter, report)
    if item is not None:
        _write([item], store, embedder, report, None)
        store.bump_revision()
        if item.raced:
            raise WrittenMeanwhile(f"document {doc.document_id!r} {RACED}")
    elif old is not None and old.origin != UPLOAD:  # readers do not use owners: no new revision
        store.set_owner(doc.document_id, UPLOAD, "")
    report.seconds = time.perf_counter() - started
    return report


def ingest_synced(
    docs: list[tuple[LoadedDocument, str]],
    source: str,
    store: ChunkStore,
    embedder: Embedder,
    splitter: "SentenceSplitter",
    *,
    keep: set[str] | None = None,
    progress: ProgressFactory | None = None,
) -> IngestReport:
    """Store the pages of sync source ``source``, each ``(document, URL as shown)``, ids all
    different, the way :func:`ingest` stores a folder's files: a document held by an upload,
    a folder or another source fails with the reason and is left as it is. With ``keep``, the
    source's documents whose ids are not in it are pruned (the pages its listing no longer
    has)."""
    started = time.perf_counter()
    report = IngestReport()
    stored = store.documents()
    pending: list[_Pending] = []
    for doc, url in docs:
        old = stored.get(doc.document_id)
        try:
            _check_owner(old, SYNC, source, "")
            item = _plan(doc, SYNC, source, old, splitter, report)
        except LoadError as exc:
            report.failed.append((url, str(exc)))
            continue
        if item is not None:
            item.path = url
            pending.append(item)
        elif old is not None and (old.origin, old.folder) != (SYNC, source):
            store.set_owner(doc.document_id, SYNC, source)
    _write(pending, store, embedder, report, progress)
    report.failed += [(item.path, RACED) for item in pending if item.raced]
    if keep is not None:
        for old in stored.values():
            if (old.origin, old.folder) == (SYNC, source) and old.document_id not in keep:
                store.delete_document(old.document_id)
                report.pruned += 1
    if pending or report.pruned:
        store.bump_revision()
    report.seconds = time.perf_counter() - started
    return report


def _check_owner(old: StoredDocument | None, origin: str, owner: str, hint: str) -> None:
    """Raise :class:`LoadError` when ``old`` belongs to another than ``(origin, owner)``."""
    if old is None or old.origin == "" or (old.origin, old.folder) == (origin, owner):
        return
    if old.origin == UPLOAD:
        holder = "an upload"
    elif old.origin == SYNC:
        holder = f"the sync source {shown(old.folder)!r}"
    else:
        holder = f"the folder {shown(old.folder)}"
    raise LoadError(f"id {shown(old.document_id)!r} is held by {holder}: not replaced{hint}")


def _plan(
    doc: LoadedDocument,
    origin: str,
    folder: str,
    old: StoredDocument | None,
    splitter: "SentenceSplitter",
    report: IngestReport,
) -> _Pending | None:
    """The chunks to write for ``doc``, or None when exactly this version is stored."""
    if old is not None and old.is_complete(doc.content_hash):
        report.unchanged += 1
        return None
    try:
        chunks = split_document(doc, splitter)
    except ValueError as exc:  # the splitter's only complaint: a piece too big for a chunk
        raise LoadError(f"cannot be split into chunks: {exc}") from exc
    if old is None:
        report.new += 1
    else:
        report.changed += 1
    return _Pending(doc, origin, folder, chunks, set(old.hashes) if old else set())


def _gone(path: Path, discovery: Discovery, stored: Iterable[StoredDocument]) -> list[str]:
    """Stored documents from under folder ``path`` whose files were not found there now."""
    if not path.is_dir():
        return []
    root = PurePath(path.resolve())
    found = {PurePath(f.document_id) for f in discovery.files}
    gone = []
    for doc in stored:
        if doc.origin != FOLDER:
            continue
        file = PurePath(doc.folder, doc.document_id)
        if not file.is_relative_to(root):
            continue
        relative = file.relative_to(root)
        if relative not in found and not any(
            relative.is_relative_to(u) for u in discovery.unlisted
        ):
            gone.append(doc.document_id)
    return gone


def delete(store: ChunkStore, document_id: str) -> bool:
    """Remove one document; False when none is stored under ``document_id``."""
    if store.document(document_id) is None:
        return False
    store.delete_document(document_id)
    store.bump_revision()
    return True


def _write(
    pending: list[_Pending],
    store: ChunkStore,
    embedder: Embedder,
    report: IngestReport,
    progress: ProgressFactory | None,
) -> None:
    queue = _by_length([(item, chunk) for item in pending for chunk in item.chunks])
    bar = progress(len(queue)) if progress else None
    for start in range(0, len(queue), BATCH):
        batch = queue[start : start + BATCH]
        texts = [chunk.text for _, chunk in batch]
        vectors, sentences = embed_with_sentences(texts, embedder)
        store.upsert(
            ids=[chunk.chunk_id for _, chunk in batch],
            texts=texts,
            embeddings=vectors,
            metadatas=[
                {**_metadata(item, chunk), METADATA_KEY: encoded}
                for (item, chunk), encoded in zip(batch, sentences, strict=True)
            ],
        )
        report.chunks_embedded += len(batch)
        for item, _ in batch:
            item.written += 1
            if item.written == len(item.chunks):
                _replace(store, item, report)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()


def _replace(store: ChunkStore, item: _Pending, report: IngestReport) -> None:
    """Delete the versions ``item`` replaces; or, when another writer stored a version of its
    document since the run read the store, take ``item``'s back instead."""
    doc = item.doc
    now = store.document(doc.document_id)
    if now is not None and not set(now.hashes) - {doc.content_hash} <= item.known:
        store.delete_version(doc.document_id, doc.content_hash)
        item.raced = True
        if item.known:
            report.changed -= 1
        else:
            report.new -= 1
        return
    store.delete_document(doc.document_id, keep_hash=doc.content_hash)


def _by_length(queue: list[tuple[_Pending, Chunk]]) -> list[tuple[_Pending, Chunk]]:
    """Each window of the queue longest text first: the model pads a batch to its longest text.

    Windows, not the whole queue, so a run killed mid-way leaves few documents half written.
    """
    ordered: list[tuple[_Pending, Chunk]] = []
    for start in range(0, len(queue), SORT_WINDOW):
        ordered += sorted(queue[start : start + SORT_WINDOW], key=lambda pair: -len(pair[1].text))
    return ordered


def _metadata(item: _Pending, chunk: Chunk) -> dict[str, Any]:
    doc = item.doc
    return {
        "document_id": doc.document_id,
        "origin": item.origin,
        "folder": item.folder,
        "title": doc.title,
        "source": doc.source,
        "published": doc.published,
        "doc_hash": doc.content_hash,
        "n_chunks": len(item.chunks),
        "chunk_index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
    } | filter_fields(doc.published, doc.source)
