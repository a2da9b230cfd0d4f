"""The values the chat answerer works with, shared by the API, the CLI and the evaluator."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

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
    # LLM mode: the share of the model's claims kept, the passages they cite supporting them
    llm_support: float | None = None


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


# --- The reply as clients see it: the one shape of POST /api/chat, of /v1's ``citechat`` field
# and of the replies an evaluation grades (in-process or over HTTP). ---


class CitationOut(BaseModel):
    marker: int = Field(description="The [n] marker of the answer that cites this source.")
    document_id: str
    title: str
    source: str
    published: str
    quote: str = Field(description="Verbatim text of the cited chunk supporting the claim.")
    chunk_id: str
    score: float


class RetrievedOut(BaseModel):
    document_id: str
    chunk_id: str
    score: float


class ChatResponse(BaseModel):
    answer: str
    answered: bool = Field(description="False when the documents do not answer the question.")
    citations: Sequence[CitationOut]
    mode: Mode
    notice: str | None = Field(description="Why the answer is not what was asked for, if so.")
    retrieved: list[RetrievedOut] = Field(description="The passages retrieved, best first.")

    @classmethod
    def of(cls, answer: ChatAnswer) -> "ChatResponse":
        """What clients are sent of ``answer``."""
        return cls(
            answer=answer.answer,
            answered=answer.answered,
            citations=[
                CitationOut.model_validate(c, from_attributes=True) for c in answer.citations
            ],
            mode=answer.mode,
            notice=answer.notice,
            retrieved=[
                RetrievedOut(document_id=p.document_id, chunk_id=p.chunk_id, score=p.score)
                for p in answer.retrieved
            ],
        )
