"""Sentence-aware chunking with character offsets, through llama-index's SentenceSplitter."""

from dataclasses import dataclass

from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter

from ingestion.loaders import LoadedDocument


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    document_id: str
    index: int
    text: str
    start: int
    end: int


def build_splitter(chunk_size: int, chunk_overlap: int) -> SentenceSplitter:
    return SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


def split_document(doc: LoadedDocument, splitter: SentenceSplitter) -> list[Chunk]:
    """Split ``doc`` into chunks whose ids are stable for the same content."""
    nodes = splitter.get_nodes_from_documents([Document(text=doc.text)])
    prefix = f"{doc.document_id}::{doc.content_hash[:16]}"
    chunks = []
    for index, node in enumerate(nodes):
        start = node.start_char_idx if node.start_char_idx is not None else 0
        end = node.end_char_idx if node.end_char_idx is not None else start + len(node.text)
        chunks.append(
            Chunk(
                chunk_id=f"{prefix}::{index}",
                document_id=doc.document_id,
                index=index,
                text=node.get_content(),
                start=start,
                end=end,
            )
        )
    return chunks
