"""The evaluation report's schema: replies of the service, graded questions and metrics.

The JSON report is a :class:`Report`; a saved one is read back as the gate's baseline.
"""

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from service.chat.types import ChatResponse, CitationOut

# The metrics the gate compares (all in 0..1, higher is better); latency is reported, not gated.
HEADLINE_METRICS = (
    "pass_rate",
    "correctness",
    "abstention_accuracy",
    "citation_precision",
    "citation_recall",
    "quote_validity",
    "hit_at_k",
    "mrr",
    "faithfulness",
    "answer_relevance",
)


class CitationRecord(CitationOut):
    """A reply's citation, with whether its quote is in the cited document."""

    source: str = ""  # reports written before citations kept their source and score lack them
    score: float = 0.0
    quote_valid: bool | None = None  # None: the document text was not available to check


class Reply(ChatResponse):
    """One answer of the service as the report keeps it: the chat response (in-process or over
    HTTP), its quotes checked, and in-process the standalone question that retrieval used."""

    citations: Sequence[CitationRecord]
    question: str = ""
    # In-process, LLM mode: the share of the model's claims kept, the passages they cite
    # holding their figures and names (0 when none was and the answer fell back).
    llm_support: float | None = None

    @classmethod
    def of_response(
        cls, response: ChatResponse, question: str = "", llm_support: float | None = None
    ) -> "Reply":
        """``response`` as a record, its quotes not yet checked."""
        extra = {"question": question, "llm_support": llm_support}
        return cls.model_validate(response.model_dump() | extra)


class Scores(BaseModel):
    """A question's scores; None where a metric does not apply."""

    correct: bool
    abstention_ok: bool | None = None
    # a right answer's first claim (to its first marker) holds one of its expected answers
    answer_first: bool | None = None
    hit: float | None = None
    reciprocal_rank: float | None = None
    citation_precision: float | None = None
    citation_recall: float | None = None
    faithfulness: float | None = None
    answer_relevance: float | None = None
    citation_support: float | None = None  # the reply's llm_support


class QuestionResult(BaseModel):
    """One question of the set: what was asked, what came back, and whether it passed."""

    id: str
    category: str
    turns: list[str]
    answerable: bool
    sources: list[str]
    all_sources: bool
    reply: Reply | None  # the answer to the last turn; None when the service failed
    history: list[str] = []  # the answers to the earlier turns
    latencies_ms: list[float] = []  # one per turn
    error: str | None = None
    passed: bool
    reasons: list[str] = []
    scores: Scores


class Metrics(BaseModel):
    """Aggregate figures of a group of questions; None where no question applies."""

    questions: int
    passed: int
    pass_rate: float
    correctness: float | None = None
    abstention_accuracy: float | None = None
    citation_precision: float | None = None
    citation_recall: float | None = None
    quote_validity: float | None = None
    hit_at_k: float | None = None
    mrr: float | None = None
    faithfulness: float | None = None
    answer_relevance: float | None = None
    citation_support: float | None = None  # LLM mode: the mean share of the model's claims kept
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    answer_words_median: float | None = None  # of the answered replies (abstentions left out)
    short_answers: float | None = None  # share of the answered replies of at most 80 words
    answer_first: float | None = None  # share of the right answers that lead with the answer


class Report(BaseModel):
    eval_set: str
    created: str
    settings: dict[str, Any]
    overall: Metrics
    categories: dict[str, Metrics]
    questions: list[QuestionResult]
