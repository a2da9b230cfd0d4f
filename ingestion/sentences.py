"""Sentences of a chunk and their vectors, computed at ingest and stored with the chunk.

The answerer scores each retrieved sentence by its similarity to the question. Encoding
sentences at query time costs about 16 ms each on one CPU thread, ten times a query, so they
are encoded once at ingest and kept in the chunk's metadata (``sentences``: JSON with the
sentence spans and their float16 vectors in base64). With the local model they are pooled
from the tokens of the chunk's own forward pass, so they cost next to nothing at ingest.
"""

import base64
import importlib.util
import json
import re
from functools import cache
from pathlib import Path

import numpy as np

from ingestion.embeddings import Embedder

METADATA_KEY = "sentences"
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])|\n+")
# A period that ends an abbreviation ends no sentence: initials ("U.S."), the abbreviations of
# NLTK's English Punkt model ("Sept.", "Gen.", "p.m.", "vs."), and two titles it lacks.
_ABBREVIATION = re.compile(r"(?:\b[A-Z]\.)+$|\b(?:No|Gov)\.$")
_LAST_WORD = re.compile(r"[\w.'-]+(?=\.$)")
_PUNKT_ABBREVIATIONS = "_static/nltk_cache/tokenizers/punkt_tab/english/abbrev_types.txt"


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the sentences of ``text``, surrounding whitespace excluded."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end() if match.group().strip() else match.start()
        before = text[max(start, match.start() - 16) : match.start() + 1]
        if match.group()[0] == "." and _abbreviated(before):
            continue
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    return [_strip(text, s, e) for s, e in spans if text[s:e].strip()]


def _abbreviated(text: str) -> bool:
    """True when ``text`` ends with an abbreviation and its period."""
    word = _LAST_WORD.search(text)
    return _ABBREVIATION.search(text) is not None or (
        word is not None and word.group().lower() in _abbreviations()
    )


@cache
def _abbreviations() -> frozenset[str]:
    """The abbreviations NLTK's English Punkt model learned ("sept", "gen", "p.m"), read from its
    data file as llama-index-core ships it (importing NLTK and llama-index to load it cost the
    first question after a start 2.5 s)."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llama-index-core, which ships the Punkt model's data, is missing")
    path = Path(spec.submodule_search_locations[0], _PUNKT_ABBREVIATIONS)
    return frozenset(path.read_text(encoding="utf-8").splitlines())


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while text[start].isspace():
        start += 1
    while text[end - 1].isspace():
        end -= 1
    return start, end


def embed_with_sentences(
    texts: list[str], embedder: Embedder
) -> tuple[list[list[float]], list[str]]:
    """The vectors of chunk ``texts``, and for each its sentences' spans and vectors to store.

    With the local model both come from one encoding of the chunks (see
    :meth:`ingestion.embeddings.LocalEmbedder.embed_chunks`). A sentence without a vector is
    left out.
    """
    embedded = embedder.embed_chunks(texts, [split_sentences(text) for text in texts])
    encoded = []
    for vectors in embedded:
        block = np.asarray(list(vectors.sentences.values()), np.float16)
        data = base64.b64encode(block.tobytes()).decode("ascii")
        spans = list(vectors.sentences)
        encoded.append(json.dumps({"spans": spans, "vectors": data}, separators=(",", ":")))
    return [vectors.chunk for vectors in embedded], encoded


def read_sentence_vectors(value: str) -> dict[tuple[int, int], np.ndarray]:
    """The vectors of a chunk's sentences by span; empty when absent or unreadable."""
    try:
        data = json.loads(value)
        vectors = np.frombuffer(base64.b64decode(data["vectors"]), np.float16)
        spans = [tuple(span) for span in data["spans"]]
        vectors = vectors.reshape(len(spans), -1).astype(np.float32)
    except (ValueError, KeyError, TypeError):
        return {}
    return dict(zip(spans, vectors, strict=True))
