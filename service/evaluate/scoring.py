"""Grading: a question's reply against its case, and the metrics of a group of questions.

A question passes when it has no error, its answer is right (every ``expect_any`` group
matched, no ``must_not_contain`` string present, and answered exactly when answerable), an
answered one cites the required sources, and no quote is invalid.
"""

from collections.abc import Sequence
from typing import Any

from service.chat.citations import first_claim
from service.chat.compose import MAX_WORDS
from service.evaluate import metrics
from service.evaluate.cases import EvalCase, forbidden_found, missing_groups
from service.evaluate.records import CitationRecord, Metrics, QuestionResult, Reply, Scores

# A short answer: the answer first, within the words the extractive answer allows itself
# before it adds further quotes (its history of older sources may run longer).
SHORT_ANSWER_WORDS = MAX_WORDS


def check_quotes(
    citations: Sequence[CitationRecord], documents: dict[str, str] | None
) -> Sequence[CitationRecord]:
    """The citations with ``quote_valid`` set; left None when ``documents`` is unknown."""
    if documents is None:
        return citations
    return [
        c.model_copy(
            update={"quote_valid": metrics.quote_is_valid(c.quote, documents.get(c.document_id))}
        )
        for c in citations
    ]


def grade(
    case: EvalCase,
    reply: Reply | None,
    *,
    history: list[str],
    latencies_ms: list[float],
    error: str | None = None,
    documents: dict[str, str] | None = None,
) -> QuestionResult:
    """Score ``reply`` (the answer to the last turn) against ``case``."""
    base: dict[str, Any] = {
        "id": case.id,
        "category": case.category,
        "turns": case.turns,
        "answerable": case.answerable,
        "sources": case.sources,
        "all_sources": case.all_sources,
        "history": history,
        "latencies_ms": latencies_ms,
    }
    if reply is None:
        reasons = [f"error: {error or 'no reply'}"]
        return QuestionResult(
            **base,
            reply=None,
            error=error,
            passed=False,
            reasons=reasons,
            scores=Scores(correct=False),
        )
    reply = reply.model_copy(update={"citations": check_quotes(reply.citations, documents)})
    scores = _scores(case, reply)
    reasons = _reasons(case, reply, scores)
    return QuestionResult(**base, reply=reply, passed=not reasons, reasons=reasons, scores=scores)


def _scores(case: EvalCase, reply: Reply) -> Scores:
    abstention_ok = metrics.abstention_ok(reply.answered, case.answerable)
    correct = (
        abstention_ok
        and not missing_groups(reply.answer, case.expect_any)
        and not forbidden_found(reply.answer, case.must_not_contain)
    )
    first = None
    if correct and case.answerable and case.expect_any:
        missing = missing_groups(first_claim(reply.answer), case.expect_any)
        first = len(missing) < len(case.expect_any)  # one of the answers asked, at least
    if not (case.answerable and case.sources):
        return Scores(
            correct=correct,
            abstention_ok=abstention_ok,
            answer_first=first,
            citation_support=reply.llm_support,
        )
    cited = [c.document_id for c in reply.citations]
    retrieved = [r.document_id for r in reply.retrieved]
    return Scores(
        correct=correct,
        abstention_ok=abstention_ok,
        answer_first=first,
        hit=metrics.hit_at_k(retrieved, case.sources, len(retrieved)),
        reciprocal_rank=metrics.reciprocal_rank(retrieved, case.sources),
        citation_precision=metrics.citation_precision(cited, case.sources),
        citation_recall=metrics.citation_recall(cited, case.sources, case.all_sources),
        citation_support=reply.llm_support,
    )


def _reasons(case: EvalCase, reply: Reply, scores: Scores) -> list[str]:
    reasons = []
    if case.answerable and not reply.answered:
        reasons.append("abstained on an answerable question")
    if not case.answerable and reply.answered:
        reasons.append("answered a question the documents do not answer")
    for group in missing_groups(reply.answer, case.expect_any):
        reasons.append("answer lacks any of: " + " | ".join(repr(alt) for alt in group))
    for text in forbidden_found(reply.answer, case.must_not_contain):
        reasons.append(f"answer contains {text!r}")
    if reply.answered and scores.citation_recall is not None and scores.citation_recall < 1:
        cited = {c.document_id for c in reply.citations}
        if case.all_sources:
            reasons.append("did not cite: " + ", ".join(s for s in case.sources if s not in cited))
        else:
            reasons.append("cited none of: " + ", ".join(case.sources))
    for citation in reply.citations:
        if citation.quote_valid is False:
            reasons.append(f"quote [{citation.marker}] is not verbatim in {citation.document_id}")
    return reasons


def summarize(results: Sequence[QuestionResult]) -> Metrics:
    """The metrics of a group of graded questions."""
    quotes = [c.quote_valid for r in results if r.reply for c in r.reply.citations]
    latencies = [ms for r in results for ms in r.latencies_ms]
    passed = sum(r.passed for r in results)
    scores = [r.scores for r in results]
    lengths = [len(r.reply.answer.split()) for r in results if r.reply and r.reply.answered]
    return Metrics(
        questions=len(results),
        passed=passed,
        pass_rate=passed / len(results) if results else 0.0,
        correctness=metrics.mean(s.correct for s in scores),
        abstention_accuracy=metrics.mean(s.abstention_ok for s in scores),
        citation_precision=metrics.mean(s.citation_precision for s in scores),
        citation_recall=metrics.mean(s.citation_recall for s in scores),
        quote_validity=metrics.mean(quotes),
        hit_at_k=metrics.mean(s.hit for s in scores),
        mrr=metrics.mean(s.reciprocal_rank for s in scores),
        faithfulness=metrics.mean(s.faithfulness for s in scores),
        answer_relevance=metrics.mean(s.answer_relevance for s in scores),
        citation_support=metrics.mean(s.citation_support for s in scores),
        latency_p50_ms=metrics.percentile(latencies, 50),
        latency_p95_ms=metrics.percentile(latencies, 95),
        answer_words_median=metrics.percentile(lengths, 50),
        short_answers=metrics.mean(n <= SHORT_ANSWER_WORDS for n in lengths),
        answer_first=metrics.mean(s.answer_first for s in scores),
    )


def summarize_by_category(results: Sequence[QuestionResult]) -> dict[str, Metrics]:
    """:func:`summarize` for each category, in order of first appearance."""
    categories = dict.fromkeys(r.category for r in results)
    return {c: summarize([r for r in results if r.category == c]) for c in categories}
