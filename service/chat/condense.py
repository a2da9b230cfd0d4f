"""Standalone questions: follow-ups combined with earlier turns, instructions set aside.

Extractive mode uses the deterministic rule here; LLM mode asks the model with the
condense-question prompt (see :mod:`service.chat.llm`).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.chat.evidence import content_terms
from service.chat.injection import without_instructions
from service.chat.types import Message

MAX_CONTEXT_TURNS = 3
_SHORT = 2  # a question with this many content terms or fewer leans on the conversation
_ANAPHORA = re.compile(
    r"\b(it|its|he|him|his|she|her|hers|they|them|their|this|that|these|those|there|then)\b",
    re.IGNORECASE,
)
_CONTINUATION = re.compile(r"^\W*(and|but|so|also|or|what about|how about)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Standalone:
    """The question to answer, and the earlier user turns it leans on (possibly none)."""

    question: str
    context: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The question with its context, as one retrieval query."""
        return " ".join([*self.context, self.question])


def standalone(messages: Sequence[Message]) -> Standalone:
    """The last user message, with earlier user turns when it is a follow-up."""
    question = without_instructions(messages[-1].content)
    earlier = [without_instructions(m.content) for m in messages[:-1] if m.role == "user"]
    if earlier and is_follow_up(question):
        return Standalone(question, tuple(earlier[-MAX_CONTEXT_TURNS:]))
    return Standalone(question)


def is_follow_up(question: str) -> bool:
    """True for "And now?", "Who announced it?" and other questions that lean on context."""
    return bool(
        _CONTINUATION.match(question)
        or _ANAPHORA.search(question)
        or len(content_terms(question)) <= _SHORT
    )
