"""Standalone questions: follow-ups combined with earlier turns, instructions set aside.

Extractive mode uses the deterministic rule here; LLM mode asks the model with the
condense-question prompt (see :mod:`service.chat.llm`). A follow-up also keeps what the
previous reply said: the quote it led with (which answered the earlier question, while the
follow-up asks something new), and the name its quotes are about ("he", "his").
"""

import calendar
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from service.chat.compose import LABEL
from service.chat.evidence import content_terms, names_in
from service.chat.injection import without_instructions
from service.chat.types import Message

MAX_CONTEXT_TURNS = 3
# A reply about someone names them more than once; else "he" is not resolved (checked held out
# with the answerer's other constants, service/evaluate/constants_fit.py)
MIN_MENTIONS = 2
_SHORT = 2  # a question with this many content terms or fewer leans on the conversation
_ANAPHORA = re.compile(
    r"\b(it|its|he|him|his|she|her|hers|they|them|their|this|that|these|those|there|then)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(he|him|his|she|her|hers|they|them|their)\b", re.IGNORECASE)
_CONTINUATION = re.compile(r"^\W*(and|but|so|also|or|what about|how about)\b", re.IGNORECASE)
# How an extractive reply marks a quote's source (its paragraphs' dates: compose.LABEL).
_MARKER = re.compile(r"\s*\[\d+\]")
_CAPITALISED_RUN = re.compile(r"[A-Z][\w’'-]*(?:[\s\"“”]+[A-Z][\w’'-]*)*")
_CALENDAR = {*calendar.month_name[1:], *calendar.day_name}  # dates, not names


@dataclass(frozen=True)
class Standalone:
    """The question to answer, the earlier user turns it leans on (possibly none), and from
    the previous reply the quote it led with and the name its pronoun refers to."""

    question: str
    context: tuple[str, ...] = ()
    answered: str = ""
    referent: str = ""

    @property
    def text(self) -> str:
        """The question with its context, as one retrieval query."""
        return " ".join(t for t in (*self.context, self.referent, self.question) if t)


def standalone(messages: Sequence[Message]) -> Standalone:
    """The last user message, with earlier user turns when it is a follow-up."""
    question = without_instructions(messages[-1].content)
    earlier = [without_instructions(m.content) for m in messages[:-1] if m.role == "user"]
    if not earlier or not is_follow_up(question):
        return Standalone(question)
    context = tuple(earlier[-MAX_CONTEXT_TURNS:])
    replies = [m.content for m in messages[:-1] if m.role == "assistant"]
    quotes = _quotes(replies[-1]) if replies else []
    lead = quotes[0] if quotes else ""
    return Standalone(question, context, lead, _referent(question, context, quotes))


def _quotes(reply: str) -> list[str]:
    """The quotes of a reply, without their dates ("As of 7 August 2025:") and markers."""
    quotes = []
    for paragraph in reply.split("\n\n"):
        *cited, _ = _MARKER.split(LABEL.sub("", paragraph.strip(), count=1))
        quotes += [quote.strip().removesuffix("…") for quote in cited]
    return quotes


def _referent(question: str, context: Sequence[str], quotes: Sequence[str]) -> str:
    """The name the previous reply's ``quotes`` are about, when ``question`` refers back with
    a pronoun: of the names no earlier turn used, the one they mention most (at least
    :data:`MIN_MENTIONS` times), the earliest among equals ("his" after "Who ran Boeing before
    Ortberg?" is the predecessor quoted).

    A name is a run of capitalised words ("Dave Calhoun"), known by its last word ("Calhoun").
    """
    if not _PRONOUN.search(question):
        return ""
    known = set(content_terms(" ".join(context)))
    names: dict[str, str] = {}
    mentions: Counter[str] = Counter()
    for run in (run for quote in quotes for run in _CAPITALISED_RUN.findall(quote)):
        words = [w for w in re.findall(r"[\w’'-]+", run) if w not in _CALENDAR]
        terms = content_terms(words[-1]) if words else []
        if terms and terms[-1] not in known:
            names.setdefault(terms[-1], words[-1])
            mentions[terms[-1]] += 1
    if not mentions:
        return ""
    most, count = mentions.most_common(1)[0]
    return names[most] if count >= MIN_MENTIONS else ""


def is_follow_up(question: str) -> bool:
    """True for "And now?", "Who announced it?", a question naming nothing ("How did the
    committee split in the end?") and others that lean on context."""
    return bool(
        _CONTINUATION.match(question)
        or _ANAPHORA.search(question)
        or len(content_terms(question)) <= _SHORT
        or not names_in(question)
    )
