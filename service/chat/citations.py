"""Citation markers: renumbered by first use, checked against the sources, with verbatim quotes.

A draft answer cites its sources as ``[n]``, ``n`` being the 1-based number of a source given
to the writer (the extractive composer or the LLM). :class:`MarkerRewriter` turns those into
the answer's markers ``[1]``, ``[2]``, ... in order of first use, drops markers that name no
source, and works on streamed text. :func:`cite` then builds one citation per marker whose
``quote`` is verbatim text of the cited chunk.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingestion.sentences import split_sentences
from service.chat.evidence import content_terms
from service.chat.injection import instructing
from service.chat.types import Citation
from service.retrieval import Passage

_MARKERS = re.compile(r"(?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])+")  # "[1]", "[1, 2][3]"
_TRAILING_MARKERS = re.compile(r"(?:\s*\[\d+\])+\s*$")
# Markers at the end may continue in the next piece ("[1" + "]", "[1]" + "[2]"): held back.
_HELD_BACK = re.compile(r"(?:\s*\[[\d,;\s]{0,24}\]?)+$|\s+$")


def first_claim(answer: str) -> str:
    """What ``answer`` says before its first citation marker: the claim it leads with."""
    return _MARKERS.split(answer, maxsplit=1)[0]


@dataclass(frozen=True)
class Source:
    """Something a draft may cite: a passage, with the quote that supports the claim if known."""

    passage: Passage
    quote: str | None = None  # None: the passage's sentence closest to the claims citing it


class MarkerRewriter:
    """Rewrites source numbers ``[n]`` into citation markers numbered by first use.

    Feed the draft in pieces as it streams; each call returns the text that is safe to show
    (a marker cut in two is held back until complete). ``order[i]`` is the source number of
    marker ``i + 1``.
    """

    def __init__(self, n_sources: int) -> None:
        self._n_sources = n_sources
        self._pending = ""
        self.order: list[int] = []

    def feed(self, text: str) -> str:
        buffer = self._pending + text
        held = _HELD_BACK.search(buffer)
        cut = held.start() if held else len(buffer)
        self._pending = buffer[cut:]
        return self._rewrite(buffer[:cut])

    def flush(self) -> str:
        """The text still held back, once the draft is complete."""
        rest, self._pending = self._pending, ""
        return self._rewrite(rest)

    def rewrite(self, draft: str) -> str:
        """Rewrite a whole draft at once."""
        return self.feed(draft) + self.flush()

    def _rewrite(self, text: str) -> str:
        return _MARKERS.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        markers: list[int] = []
        for number in re.findall(r"\d+", match.group()):
            source = int(number)
            if not 1 <= source <= self._n_sources:
                continue
            if source not in self.order:
                self.order.append(source)
            marker = self.order.index(source) + 1
            if marker not in markers:
                markers.append(marker)
        return " " + "".join(f"[{m}]" for m in markers) if markers else ""


def cite(answer: str, order: Sequence[int], sources: Sequence[Source]) -> list[Citation]:
    """One citation per marker of ``answer``, quoting the cited chunk verbatim.

    ``order`` comes from the :class:`MarkerRewriter` that wrote ``answer``. A source's fixed
    quote is used when it is verbatim text of its chunk; otherwise the chunk's sentence that
    best matches the claims citing it is quoted.
    """
    citations = []
    for marker, number in enumerate(order, start=1):
        source = sources[number - 1]
        passage = source.passage
        quote = source.quote
        if not quote or quote not in passage.text:
            quote = best_quote(claims_citing(answer, marker), passage)
        citations.append(
            Citation(
                marker=marker,
                document_id=passage.document_id,
                title=passage.title,
                source=passage.source,
                published=passage.published,
                quote=quote,
                chunk_id=passage.chunk_id,
                score=passage.score,
            )
        )
    return citations


def claims_citing(answer: str, marker: int) -> str:
    """The text before each use of ``[marker]``, back to the previous marker or sentence."""
    claims = []
    for match in re.finditer(rf"\[{marker}\]", answer):
        before = _TRAILING_MARKERS.sub("", answer[: match.start()])
        start = max(before.rfind("]"), before.rfind("\n"))
        claims.append(before[start + 1 :].strip())
    return " ".join(claims)


def best_quote(claim: str, passage: Passage) -> str:
    """The sentence of ``passage`` sharing the most content terms with ``claim``; never one
    that instructs an assistant, unless the passage has nothing else."""
    wanted = set(content_terms(claim))
    spans = split_sentences(passage.text) or [(0, len(passage.text))]
    orders = instructing([passage.text[slice(*span)] for span in spans])
    spans = [span for span, order in zip(spans, orders, strict=True) if not order] or spans
    best = max(spans, key=lambda span: len(wanted & set(content_terms(passage.text[slice(*span)]))))
    return passage.text[slice(*best)]
