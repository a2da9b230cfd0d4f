import pytest

from ingestion.chunking import BLOCK_CHUNKS, blocks, build_splitter, split_document
from ingestion.loaders import LoadedDocument


@pytest.mark.parametrize(
    ("text", "cut_after"),
    [
        (("Words in a paragraph. " * 20 + "\n\n") * 30, "\n\n"),
        ("line\n" * 3000, "\n"),
        ("A sentence. " * 1500, ". "),
        ("word " * 3000, " "),
        ("x" * 15000, "x"),
    ],
)
def test_blocks_are_bounded_and_cut_at_the_best_boundary(text: str, cut_after: str) -> None:
    pieces = list(blocks(text, 4096))
    assert "".join(block for _, block in pieces) == text
    assert all(len(block) <= 4096 for _, block in pieces)
    assert [offset for offset, _ in pieces] == [
        sum(len(b) for _, b in pieces[:i]) for i in range(len(pieces))
    ]
    assert all(block.endswith(cut_after) for _, block in pieces[:-1])


@pytest.mark.parametrize(
    "text",
    [
        "Police arrived. " * 2000,
        "a" * 20000,  # no spaces: the splitter's slowest case, cut into blocks
        "Para one.\n\nPara two has words. " * 600,
    ],
)
def test_chunk_offsets_point_into_the_document_across_blocks(text: str) -> None:
    splitter = build_splitter(64, 8)
    doc = LoadedDocument("d.md", "T", "", "", text)
    chunks = split_document(doc, splitter)
    assert len(text) > BLOCK_CHUNKS * 64  # several blocks
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(text[c.start : c.end] == c.text for c in chunks)
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and chunks[-1].end <= len(text)
