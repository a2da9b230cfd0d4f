"""Whether what a model wrote is supported by what it was given: LLM answers and rewrites.

An LLM answer is read as claims: a sentence with its citation markers, together with the
unmarked sentences before it in its line or paragraph. A claim is kept when the passages it
cites hold its figures, dates and names (compared as stemmed terms and digits, so "Kenyan" is
"Kenya" and "05" is "5"), share a word with it, link only their own sources, and it is more
than a list of titles. Passages are read without their sentences addressed to an assistant, as
the model was shown them, so an injected claim cannot support a sentence.
"""

import calendar
import re
from collections.abc import Iterable, Sequence

from service.chat.dates import format_date
from service.chat.evidence import Context, content_terms, figures_of, names_in, terms_of
from service.chat.injection import without_injected
from service.retrieval import Passage

_MARKERS = re.compile(r"\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]")
_URL = re.compile(r"https?://[^\s<>()\[\]]+[^\s<>()\[\].,;:!?'\"”’]")
# Where a sentence ends, once what follows it has arrived: after ".", "!" or "?" (with closing
# quotes and markers) before more words, or at the end of a line.
_BOUNDARY = re.compile(
    r"[.!?…]+[\"”’)]*(?:[ \t]*\[[\d,;\s]*\])*(?=\s+[^\s\[])|(?<=\S)(?=[ \t]*\n\s*[^\s\[])"
)
_FIRST_WORD = re.compile(r"[^\W\d_][\w’'-]*")
# Words that open sentences without naming anything (besides evidence's function words).
_OPENERS = frozenset(
    content_terms(
        "according additionally although currently despite earlier finally however instead "
        "later meanwhile moreover neither nevertheless overall previously recently today "
        "yesterday yes"
    )
)
_CALENDAR_TERMS = frozenset(
    content_terms(" ".join([*calendar.month_name[1:], *calendar.day_name, "published", "undated"]))
)
# Words about the passages rather than the news: "The passage titled ... states [1]".
_META_TERMS = frozenset(
    content_terms(
        "passage passages article articles source sources document documents title "
        "titled number cites cited states reads headline link"
    )
)
TITLE_SHARE = 0.6  # of a title's terms in a claim: the claim quotes that title
_NUMBER_WORDS = {
    word: str(number)
    for number, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
}


def facts_context(text: str) -> Context:
    """The terms and figures (digits, leading zeros dropped) that ``text`` mentions."""
    figures = {_figure(f) for f in figures_of(text)}
    figures |= {_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS}
    return Context(terms_of([text])[0], figures)


def passage_context(passage: Passage) -> Context:
    """What a passage shown to the model mentions: its title, date and text, minus injected
    sentences (see :func:`service.chat.llm.format_passages`)."""
    header = f"{passage.title}\n{format_date(passage.published)} {passage.published}"
    return facts_context(f"{header}\n{without_injected(passage.text)}")


def adds_facts(text: str, contexts: Sequence[Context], first_words: bool = False) -> bool:
    """True when ``text`` has a figure or a name that none of ``contexts`` mentions.

    Names are capitalised words; with ``first_words``, also a sentence's first word unless it
    is a function word or an opener ("Earlier", "However"): "SpaceX built it."
    """
    figures = {_figure(f) for f in figures_of(text)}
    if not figures <= set().union(*(c.figures for c in contexts)):
        return True
    names = [name.terms for name in names_in(text) if name.terms]
    if first_words:
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
            word = _FIRST_WORD.search(sentence)
            terms = set(content_terms(word.group())) - _OPENERS if word else set()
            if terms:
                names.append(frozenset(terms))
    return any(not any(_mentions(c, terms) for c in contexts) for terms in names)


def _mentions(context: Context, terms: Iterable[str]) -> bool:
    return all(term in context.terms or context.has_related(term) for term in terms)


def _figure(digits: str) -> str:
    return digits.lstrip("0") or "0"


class SupportCheck:
    """Keeps the claims of an LLM draft that the passages they cite support.

    Feed the draft (source numbers ``[n]`` as the prompt numbered the passages) in pieces as
    it streams; each call returns the kept text that is complete, with its leading whitespace.
    ``kept`` of ``claims`` were kept, ``cited`` cited a given passage; ``draft`` is everything
    fed.
    """

    def __init__(self, passages: Sequence[Passage]) -> None:
        self._passages = passages
        self._contexts = [passage_context(p) for p in passages]
        self._titles = [frozenset(content_terms(p.title)) - _CALENDAR_TERMS for p in passages]
        self._buffer = ""  # text whose sentences are not complete yet
        self._pending = ""  # complete sentences citing nothing, waiting for the claim's marker
        self.draft = ""
        self.claims = 0
        self.cited = 0
        self.kept = 0

    @property
    def share_kept(self) -> float | None:
        """The share of claims kept; None when the draft made none."""
        return self.kept / self.claims if self.claims else None

    def feed(self, piece: str) -> str:
        self.draft += piece
        self._buffer += piece
        kept, start = [], 0
        for boundary in _BOUNDARY.finditer(self._buffer):
            rest = self._buffer[boundary.end() :]
            line_ends = "\n" in rest[: len(rest) - len(rest.lstrip())]
            kept.append(self._take(self._buffer[start : boundary.end()], line_ends))
            start = boundary.end()
        self._buffer = self._buffer[start:]
        return "".join(kept)

    def flush(self) -> str:
        """The kept text left once the draft is complete."""
        rest, self._buffer = self._buffer, ""
        return self._take(rest, line_ends=True) if rest.strip() else ""

    def _take(self, sentence: str, line_ends: bool) -> str:
        """``sentence`` with the unmarked ones before it if the passages it cites support them,
        else "" (a sentence citing nothing waits for the next one, unless its line ends)."""
        claim = self._pending + sentence
        sources = self._sources(sentence)
        if not sources:
            self._pending = "" if line_ends else claim
            if line_ends and content_terms(claim):
                self.claims += 1  # a claim citing no passage
            return ""
        self._pending = ""
        self.claims += 1
        self.cited += 1
        if not self.supported(claim, sources):
            return ""
        self.kept += 1
        return claim

    def _sources(self, text: str) -> list[int]:
        numbers = (int(n) for group in _MARKERS.findall(text) for n in re.findall(r"\d+", group))
        return sorted({n for n in numbers if 1 <= n <= len(self._passages)})

    def supported(self, claim: str, sources: Sequence[int]) -> bool:
        """Whether the passages numbered ``sources`` support ``claim`` (see the module)."""
        text = _MARKERS.sub(" ", claim)
        cited = [self._passages[n - 1] for n in sources]
        if any(url not in {p.source for p in cited} for url in _URL.findall(text)):
            return False  # a link to another passage's source, or to none
        text = _URL.sub(" ", text)
        terms = set(content_terms(text)) - _CALENDAR_TERMS
        contexts = [self._contexts[n - 1] for n in sources]
        if not any(_mentions(c, [t]) for c in contexts for t in terms):
            return False  # nothing in common with what it cites
        titles = [t for t in self._titles if t and len(t & terms) >= TITLE_SHARE * len(t)]
        if titles and (len(titles) > 1 or terms - titles[0] <= _META_TERMS):
            return False  # a list of titles, or one title and words about passages
        return not adds_facts(text, contexts, first_words=True)
