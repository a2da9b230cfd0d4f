import pytest

from service.evaluate.cases import EvalCase
from service.evaluate.records import CitationRecord, Reply, RetrievedRecord
from service.evaluate.runner import merge_chunks
from service.evaluate.scoring import grade, summarize, summarize_by_category

MAY, FEB, SEP = "may.md", "feb.md", "sep.md"
DOCUMENTS = {
    MAY: "The United States has indicated its intention to withhold further funding.",
    FEB: "The United States has specifically exempted its support for the mission.",
    SEP: "The Biden administration offered USD 100 million.",
}


def case(**fields: object) -> EvalCase:
    values: dict[str, object] = {
        "id": "q",
        "category": "temporal",
        "turns": ["Is the US still funding the mission?"],
        "expect_any": [["withhold"], ["exempt"]],
        "sources": [MAY, FEB],
        "all_sources": True,
    }
    return EvalCase.model_validate(values | fields)


def cite(marker: int, document_id: str, quote: str) -> CitationRecord:
    return CitationRecord(marker=marker, document_id=document_id, quote=quote)


def reply(
    answer: str, citations: list[CitationRecord], retrieved: list[str], answered: bool = True
) -> Reply:
    return Reply(
        answer=answer,
        answered=answered,
        citations=citations,
        mode="extractive",
        retrieved=[
            RetrievedRecord(document_id=d, chunk_id=f"{d}::{i}", score=1.0)
            for i, d in enumerate(retrieved)
        ],
    )


GOOD = reply(
    "As of 23 May 2025 the US intends to withhold further funding [1]; "
    "earlier it had exempted the mission [2].",
    [cite(1, MAY, "intention to withhold further funding"), cite(2, FEB, "specifically exempted")],
    [SEP, MAY, FEB],
)


def run(c: EvalCase, r: Reply | None, error: str | None = None):
    return grade(c, r, history=[], latencies_ms=[12.0], error=error, documents=DOCUMENTS)


def test_a_right_answer_passes_with_its_scores() -> None:
    result = run(case(), GOOD)
    assert result.passed and result.reasons == []
    s = result.scores
    assert s.correct and s.abstention_ok
    assert (s.hit, s.reciprocal_rank) == (1.0, 0.5)
    assert (s.citation_precision, s.citation_recall) == (1.0, 1.0)
    assert [c.quote_valid for c in result.reply.citations] == [True, True]


def test_each_failure_has_its_reason() -> None:
    bad = reply(
        "The US exempted the mission [1] and pays 100 million [2].",
        [cite(1, FEB, "specifically exempted"), cite(2, SEP, "offered USD 200 million")],
        [SEP, SEP],
    )
    result = run(case(), bad)
    assert not result.passed
    assert result.reasons == [
        "answer lacks any of: 'withhold'",
        f"did not cite: {MAY}",
        f"quote [2] is not verbatim in {SEP}",
    ]
    s = result.scores
    assert not s.correct and s.abstention_ok
    assert (s.hit, s.reciprocal_rank) == (0.0, 0.0)
    assert s.citation_precision == 0.5 and s.citation_recall == 0.5


def test_any_one_source_is_enough_unless_all_sources() -> None:
    only_may = reply("They will withhold it; it was exempt [1].", [cite(1, MAY, "withhold")], [MAY])
    assert run(case(all_sources=False), only_may).passed
    result = run(case(all_sources=True), only_may)
    assert result.reasons == [f"did not cite: {FEB}"]
    none_cited = reply("They will withhold it; it was exempt.", [], [MAY])
    assert run(case(all_sources=False), none_cited).reasons == [f"cited none of: {MAY}, {FEB}"]


def test_abstention_is_judged_both_ways() -> None:
    unanswerable = case(expect_any=[], sources=[], all_sources=False, answerable=False)
    declined = reply("The documents do not say.", [], [SEP], answered=False)
    result = run(unanswerable, declined)
    assert result.passed and result.scores.abstention_ok and result.scores.hit is None
    wrongly = run(unanswerable, GOOD)
    assert wrongly.reasons == ["answered a question the documents do not answer"]
    assert wrongly.scores.correct is False
    assert run(case(expect_any=[]), declined).reasons[0] == "abstained on an answerable question"


def test_a_quote_from_an_unknown_document_is_invalid_and_unknown_texts_are_not_judged() -> None:
    ghost = reply("They will withhold and exempt [1].", [cite(1, "ghost.md", "withhold")], [MAY])
    result = run(case(all_sources=False, sources=[MAY, "ghost.md"]), ghost)
    assert result.reasons == ["quote [1] is not verbatim in ghost.md"]
    unchecked = grade(
        case(all_sources=False, sources=[MAY, "ghost.md"]), ghost, history=[], latencies_ms=[1.0]
    )
    assert unchecked.passed and unchecked.reply.citations[0].quote_valid is None


def test_an_error_fails_the_question() -> None:
    result = run(case(), None, error="TargetError: HTTP 500")
    assert not result.passed and result.reasons == ["error: TargetError: HTTP 500"]
    assert result.reply is None and result.scores.correct is False


def test_summaries_pool_questions_and_citations() -> None:
    results = [
        run(case(id="a"), GOOD),
        run(case(id="b", category="factoid", sources=[SEP], all_sources=False), GOOD),
        run(
            case(
                id="c",
                category="factoid",
                answerable=False,
                expect_any=[],
                sources=[],
                all_sources=False,
            ),
            GOOD,
        ),
    ]
    overall = summarize(results)
    assert (overall.questions, overall.passed) == (3, 1)
    assert overall.pass_rate == pytest.approx(1 / 3)
    assert overall.correctness == pytest.approx(2 / 3)
    assert overall.abstention_accuracy == pytest.approx(2 / 3)
    assert overall.citation_recall == pytest.approx(0.5)  # q "c" has no sources: not counted
    assert overall.citation_precision == pytest.approx(0.5)
    assert overall.hit_at_k == 1.0 and overall.mrr == pytest.approx(0.75)
    assert overall.quote_validity == 1.0
    assert overall.latency_p50_ms == 12.0 and overall.faithfulness is None
    by_category = summarize_by_category(results)
    assert list(by_category) == ["temporal", "factoid"]
    assert by_category["factoid"].questions == 2 and by_category["factoid"].passed == 0


def test_chunks_merge_back_into_the_document_by_offset() -> None:
    text = "One sentence. Two sentences here. Three."
    parts = [(14, text[14:33]), (0, text[0:20]), (30, text[30:])]
    assert merge_chunks(parts) == text
    assert merge_chunks([(0, "ab"), (4, "ef")]) == "ab  ef"
