"""Sentence-aware chunking with character offsets, through llama-index's SentenceSplitter.

The splitter's cost grows faster than the text (it re-tokenises every piece it splits, and
text without spaces or punctuation is split character by character), so a document is first
cut into blocks of at most ``BLOCK_CHUNKS`` chunks' worth of characters, at a paragraph,
line, sentence or word boundary where there is one: the cost of a document is then linear in
its length, whatever its content.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import TextNode

from ingestion.loaders import LoadedDocument

BLOCK_CHUNKS = 16  # characters per block = BLOCK_CHUNKS * chunk_size (tokens)
_BOUNDARIES = ("\n\n", "\n", ". ", " ")


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
    """Split ``doc`` into chunks whose ids are stable for the same content.

    Raises ``ValueError`` when the splitter cannot fit a piece of text into a chunk.
    """
    prefix = f"{doc.document_id}::{doc.content_hash[:16]}"
    chunks: list[Chunk] = []
    for offset, block in blocks(doc.text, BLOCK_CHUNKS * splitter.chunk_size):
        # A text splitter makes text nodes (its declared return type is their base class).
        nodes = cast("list[TextNode]", splitter.get_nodes_from_documents([Document(text=block)]))
        for node in nodes:
            start = node.start_char_idx if node.start_char_idx is not None else 0
            end = node.end_char_idx if node.end_char_idx is not None else start + len(node.text)
            chunks.append(
                Chunk(
                    chunk_id=f"{prefix}::{len(chunks)}",
                    document_id=doc.document_id,
                    index=len(chunks),
                    text=node.get_content(),
                    start=offset + start,
                    end=offset + end,
                )
            )
    return chunks


def blocks(text: str, size: int) -> Iterator[tuple[int, str]]:
    """``(offset, block)`` pieces of ``text`` of at most ``size`` characters, cut at the
    last paragraph, line, sentence or word boundary in the second half of each piece."""
    start = 0
    while len(text) - start > size:
        end = start + size
        for boundary in _BOUNDARIES:
            cut = text.rfind(boundary, start + size // 2, end)
            if cut != -1:
                end = cut + len(boundary)
                break
        yield start, text[start:end]
        start = end
    yield start, text[start:]
