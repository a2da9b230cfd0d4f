"""Lexical evidence: the sentences of retrieved passages and how well they cover a question.

Nothing here embeds text: sentences are scored by the IDF-weighted share of the question's
content terms they contain (the retriever's stemmed tokeniser), so answering costs no more
model calls than the one query embedding retrieval already made.
"""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

import numpy as np

from ingestion.sentences import read_sentence_vectors, split_sentences
from service.chat.dates import CHANGE_WORDS, PRESENT_WORDS, format_date
from service.chat.injection import instructing
from service.lexical import tokenize_remembered
from service.memo import CACHED_TEXTS
from service.retrieval import Passage

# Words that shape a question without naming what it is about: function words, question
# frames, and the cues of time that the answerer handles through dates instead.
_FRAME_WORDS = (
    "a about above after again against all also am an and any are around as at be because been "
    "before being below between both but by can could did do does doing done down during each "
    "either else ever every few for from further get gets got go goes going gone went come comes "
    "came coming had has have having he her here hers him his how i if in into is it its just "
    "let like many me might more most much must my no nor not of off on once only or other "
    "others our out over own per please quite rather really same say says said shall she should "
    "since so some such than that the their them then there these they this those through to "
    "too under until up upon very was we were what when where whether which while who whom "
    "whose why will with within without would yet you your us tell know happen happened happening "
    "mean means meant thing things way kind kinds sort type back"
)
MIN_STEM = 4  # shorter terms only match exactly
WORD = re.compile(r"[^\W\d_][\w’'-]*")  # a word, not a figure
_ACRONYM = re.compile(r"\b(?:[A-Z]\.){2,}")  # U.S., U.N.
_NAME = re.compile(r"[$€£]?\d[\d,.]*\d|\d|[A-Z][\w’'-]*")
_FIGURE = re.compile(r"\d[\d,]*\d|\d")
_CONNECTIVE = re.compile(
    r"^(?:conversely|however|meanwhile|notably|moreover|furthermore|additionally|also|"
    r"nevertheless|instead|in addition|by contrast|in contrast|still),\s+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage; ``text`` is verbatim ``passage.text[start:end]``.

    ``position`` counts the sentences before it in the passage.
    """

    passage: Passage
    start: int
    end: int
    position: int

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]


@dataclass(frozen=True)
class Query:
    """The content terms of a question, each with a weight (earlier turns weigh less)."""

    weights: dict[str, float]

    @classmethod
    def from_turns(
        cls,
        question: str,
        context: Sequence[str] = (),
        context_weight: float = 0.3,
        ignore: Sequence["Name"] = (),
    ) -> "Query":
        """Words of ``question`` weigh 1, those of earlier turns ``context_weight``.

        A word of several terms ("Port-au-Prince") shares its weight among them. The terms of
        the ``ignore`` names are left out.
        """
        weights = _word_weights(" ".join(context), context_weight)
        weights.update(_word_weights(question, 1.0))
        for name in ignore:
            for term in name.terms | name.figures:
                weights.pop(term, None)
        return cls(weights)


def _word_weights(text: str, weight: float) -> dict[str, float]:
    weights: dict[str, float] = {}
    for terms in _content_terms(text.split()):
        for term in terms:
            weights[term] = max(weights.get(term, 0.0), weight / len(terms))
    return weights


@lru_cache(maxsize=CACHED_TEXTS)
def content_terms(text: str) -> tuple[str, ...]:
    """The stemmed terms of ``text`` minus function words and cues of time, in order."""
    return tuple(_content_terms([text])[0])


def _content_terms(texts: list[str]) -> list[list[str]]:
    if not texts:
        return []
    stop = _question_terms()
    tokens = tokenize_remembered([_ACRONYM.sub(_undot, text) for text in texts])
    return [[t for t in terms if t not in stop] for terms in tokens]


@cache
def _question_terms() -> frozenset[str]:
    return frozenset(tokenize_remembered([f"{_FRAME_WORDS} {PRESENT_WORDS} {CHANGE_WORDS}"])[0])


@dataclass(frozen=True)
class Reading:
    """Retrieved passages read once: their whole sentences with terms, and their contexts."""

    sentences: list[Sentence]
    terms: list[set[str]]  # of each sentence
    vectors: list[np.ndarray | None]  # of each sentence, when stored at ingest
    contexts: dict[str, "Context"]  # of each passage, by chunk id


def read(passages: Sequence[Passage]) -> Reading:
    """Split ``passages`` into sentences and tokenise everything in one go.

    Chunks of a document overlap, so a sentence is kept once. A chunk can begin in the middle
    of a sentence; such a fragment (starting in lower case) is left out, as its whole sentence
    is in the previous chunk.
    """
    spans = [sentence_spans(p.text) for p in passages]
    headers = [f"{p.title}\n{format_date(p.published)}" for p in passages]
    texts = [p.text[s:e] for p, pairs in zip(passages, spans, strict=True) for s, e in pairs]
    unique = list(dict.fromkeys(texts + headers))
    terms = dict(zip(unique, terms_of(unique), strict=True))
    whole = [text for text in dict.fromkeys(texts) if not text[0].islower()]
    instructions = {text for text, order in zip(whole, instructing(whole), strict=True) if order}
    reading = Reading([], [], [], {})
    seen: set[tuple[str, str]] = set()
    for passage, header, pairs in zip(passages, headers, spans, strict=True):
        mentioned = set(terms[header])
        vectors = read_sentence_vectors(passage.sentences)
        for position, (start, end) in enumerate(pairs):
            text = passage.text[start:end]
            mentioned |= terms[text]
            if text[0].islower() or (passage.document_id, text) in seen or text in instructions:
                continue
            seen.add((passage.document_id, text))
            reading.sentences.append(Sentence(passage, start, end, position))
            reading.terms.append(terms[text])
            reading.vectors.append(vectors.get((start, end)))
        # of its date, only the year: the day of the month is no figure the passage gives
        figures = set(figures_of(f"{passage.title}\n{passage.published[:4]}\n{passage.text}"))
        reading.contexts[passage.chunk_id] = Context(mentioned, figures)
    return reading


@lru_cache(maxsize=CACHED_TEXTS)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """:func:`split_sentences` of ``text``, remembered: the same passages come back question
    after question."""
    return tuple(split_sentences(text))


def without_connective(text: str) -> str:
    """The sentence without a leading "However, " or "Conversely, ", capitalised again."""
    trimmed = _CONNECTIVE.sub("", text, count=1)
    return trimmed[:1].upper() + trimmed[1:] if trimmed != text else text


class Coverage:
    """How much of a query a set of terms covers, weighting rare terms up (IDF over sentences)."""

    def __init__(self, query: Query, sentence_terms: Sequence[set[str]]) -> None:
        n = len(sentence_terms)
        self._weights: dict[str, float] = {}
        for term, weight in query.weights.items():
            df = sum(term in terms for terms in sentence_terms)
            self._weights[term] = weight * math.log(1 + (n - df + 0.5) / (df + 0.5))
        self._total = sum(self._weights.values())

    def __call__(self, terms: set[str]) -> float:
        """The share (0..1) of the query's weight found in ``terms``; 0 for an empty query."""
        if not self._total:
            return 0.0
        return sum(w for t, w in self._weights.items() if t in terms) / self._total


def terms_of(texts: list[str]) -> list[set[str]]:
    """The stemmed terms of each text; "U.S." counts as "US"."""
    if not texts:
        return []
    return [set(t) for t in tokenize_remembered([_ACRONYM.sub(_undot, text) for text in texts])]


def _undot(match: re.Match[str]) -> str:
    return match.group().replace(".", "")


@dataclass(frozen=True)
class Context:
    """What a passage mentions, with its title and publication date ("7 February 2025")."""

    terms: set[str]
    figures: set[str]

    @cached_property
    def prefixes(self) -> frozenset[str]:
        """The beginnings of its terms, from :data:`MIN_STEM` letters on."""
        return frozenset(t[:n] for t in self.terms for n in range(MIN_STEM, len(t) + 1))

    def has_related(self, term: str) -> bool:
        """True for a word of the family of ``term``: "Kenya" for "Kenyan" and vice versa."""
        if len(term) < MIN_STEM:
            return False
        return term in self.prefixes or any(
            term[:n] in self.terms for n in range(MIN_STEM, len(term))
        )


def figures_of(text: str) -> list[str]:
    """The numbers written in ``text``, digits only ("1,000" is "1000")."""
    return [m.group().replace(",", "") for m in _FIGURE.finditer(text)]


@dataclass(frozen=True)
class Name:
    """A name or figure of a question ("Nigeria", "$500"), as the documents would write it."""

    text: str
    terms: frozenset[str]
    figures: frozenset[str]
    aliases: tuple["Name", ...] = ()  # the same name in other words ("US", "United States")

    @classmethod
    def written(cls, text: str) -> "Name":
        """The name ``text`` with its terms and no figures ("Calhoun", "European Union")."""
        return cls(text, frozenset(terms_of([text])[0]), frozenset())

    def mentioned_in(self, context: Context) -> bool:
        """True when ``context`` has every figure and every term, or a word of its family
        ("Kenya" for "Kenyan", "Haitian" for "Haiti"), or mentions one of its aliases."""
        return (
            self.figures <= context.figures
            and all(term in context.terms or context.has_related(term) for term in self.terms)
        ) or any(alias.mentioned_in(context) for alias in self.aliases)


def names_in(question: str) -> list[Name]:
    """Capitalised words (not opening a sentence) and figures of ``question``."""
    words: list[str] = []
    for match in _NAME.finditer(question):
        before = question[: match.start()].rstrip()
        word = match.group().rstrip(".,")
        if before and before[-1] not in '.?!:"“‘' and word not in words:  # not a first word
            words.append(word)
    names: list[Name] = []
    for word, terms in zip(words, terms_of(words), strict=True):
        figures = frozenset(figures_of(word))
        terms = set() if word[-1].isdigit() else terms
        if terms or figures:
            names.append(Name(word, frozenset(terms), figures))
    return names
