"""Ingest files into the chunk store: idempotent by content hash, safe to re-run after a crash.

A changed document's new chunks are written first and its old ones deleted after, so a run
killed at any point leaves at most extra chunks that the next run removes.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llama_index.core.node_parser import SentenceSplitter

from ingestion.chunking import Chunk, split_document
from ingestion.embeddings import Embedder
from ingestion.loaders import LoadedDocument, LoadError, discover, load_document
from ingestion.sentences import METADATA_KEY, sentence_metadata
from ingestion.store import ChunkStore

BATCH = 256  # chunks embedded and written per round
SORT_WINDOW = 1024  # chunks put in length order together, so embedding batches need little padding


@dataclass
class IngestReport:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    pruned: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def summary(self) -> str:
        return (
            f"files: {self.new} new, {self.changed} changed, {self.unchanged} unchanged, "
            f"{len(self.failed)} failed, {self.pruned} pruned; "
            f"{self.chunks_embedded} chunks embedded in {self.seconds:.1f} s"
        )


@dataclass
class _Pending:
    doc: LoadedDocument
    chunks: list[Chunk]
    written: int = 0


ProgressFactory = Callable[[int], Any]  # total -> object with update(n) and close()


def ingest(
    paths: list[Path],
    store: ChunkStore,
    embedder: Embedder,
    splitter: SentenceSplitter,
    *,
    prune: bool = False,
    progress: ProgressFactory | None = None,
) -> IngestReport:
    """Bring the store in line with the files under ``paths``."""
    started = time.perf_counter()
    report = IngestReport()
    stored = store.documents()
    seen: set[str] = set()
    pending: list[_Pending] = []
    for path in paths:
        try:
            files = discover([path])
        except FileNotFoundError as exc:
            report.failed.append((str(path), str(exc)))
            continue
        for file, root in files:
            document_id = file.relative_to(root).as_posix()
            if document_id in seen:
                report.failed.append((str(file), f"duplicate document id {document_id!r}"))
                continue
            seen.add(document_id)
            try:
                doc = load_document(file, root)
            except LoadError as exc:
                report.failed.append((str(file), str(exc)))
                continue
            old = stored.get(doc.document_id)
            if old is not None and old.is_complete(doc.content_hash):
                report.unchanged += 1
                continue
            if old is None:
                report.new += 1
            else:
                report.changed += 1
            pending.append(_Pending(doc, split_document(doc, splitter)))

    _write(pending, store, embedder, report, progress)
    if prune:
        for document_id in sorted(set(stored) - seen):
            store.delete_document(document_id)
            report.pruned += 1
    if pending or report.pruned:
        store.bump_revision()
    report.seconds = time.perf_counter() - started
    return report


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
        vectors = embedder.embed_documents(texts)
        sentences = sentence_metadata(texts, embedder)
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
                store.delete_document(item.doc.document_id, keep_hash=item.doc.content_hash)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()


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
        "title": doc.title,
        "source": doc.source,
        "published": doc.published,
        "doc_hash": doc.content_hash,
        "n_chunks": len(item.chunks),
        "chunk_index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
    }
