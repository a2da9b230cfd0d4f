"""The values the chat answerer works with, shared by the API, the CLI and the evaluator."""

from dataclasses import dataclass, field
from typing import Literal

from service.retrieval import Passage

Role = Literal["user", "assistant"]
Mode = Literal["extractive", "llm"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer; ``quote`` is verbatim text of the cited chunk."""

    marker: int
    document_id: str
    title: str
    source: str
    published: str
    quote: str
    chunk_id: str
    score: float


@dataclass(frozen=True)
class ChatAnswer:
    """An answer with its citations; ``retrieved`` are the passages it was drawn from."""

    answer: str
    answered: bool
    citations: list[Citation]
    mode: Mode
    notice: str | None = None
    question: str = ""  # the standalone question that retrieval used
    retrieved: list[Passage] = field(default_factory=list)


@dataclass(frozen=True)
class Delta:
    """A piece of the answer's text, as it is written."""

    text: str


@dataclass(frozen=True)
class Final:
    """The complete answer; its text is the concatenation of the deltas before it."""

    answer: ChatAnswer


@dataclass(frozen=True)
class Failure:
    """The answer broke off after some of it was sent; ``detail`` says why."""

    code: str
    detail: str


ChatEvent = Delta | Final | Failure
