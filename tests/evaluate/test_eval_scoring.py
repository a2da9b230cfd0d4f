import pytest

from ingestion.store import merge_chunks
from service.evaluate.scoring import SHORT_ANSWER_WORDS, grade, summarize, summarize_by_category
from tests.evaluate.builders import FEB, GOOD, MAY, SEP, case, cite, graded, reply


def test_a_right_answer_passes_with_its_scores() -> None:
    result = graded(case(), GOOD)
    assert result.passed and result.reasons == []
    s = result.scores
    assert s.correct and s.abstention_ok
    assert (s.hit, s.reciprocal_rank) == (1.0, 0.5)
    assert (s.citation_precision, s.citation_recall) == (1.0, 1.0)
    assert result.reply is not None
    assert [c.quote_valid for c in result.reply.citations] == [True, True]


def test_each_failure_has_its_reason() -> None:
    bad = reply(
        "The US exempted the mission [1] and pays 100 million [2].",
        [cite(1, FEB, "specifically exempted"), cite(2, SEP, "offered USD 200 million")],
        [SEP, SEP],
    )
    result = graded(case(), bad)
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


def test_an_answer_containing_a_forbidden_string_is_wrong() -> None:
    lie = reply(
        "They will withhold it; it was exempt. It opened on schedule [1].",
        [cite(1, MAY, "withhold")],
        [MAY],
    )
    forbidding = case(all_sources=False, must_not_contain=["On Schedule", "closed successfully"])

    result = graded(forbidding, lie)

    assert not result.passed and not result.scores.correct
    assert result.reasons == ["answer contains 'On Schedule'"]
    assert graded(case(all_sources=False), lie).passed  # the same answer, nothing forbidden


def test_any_one_source_is_enough_unless_all_sources() -> None:
    only_may = reply("They will withhold it; it was exempt [1].", [cite(1, MAY, "withhold")], [MAY])
    assert graded(case(all_sources=False), only_may).passed
    result = graded(case(all_sources=True), only_may)
    assert result.reasons == [f"did not cite: {FEB}"]
    none_cited = reply("They will withhold it; it was exempt.", [], [MAY])
    assert graded(case(all_sources=False), none_cited).reasons == [f"cited none of: {MAY}, {FEB}"]


def test_abstention_is_judged_both_ways() -> None:
    unanswerable = case(expect_any=[], sources=[], all_sources=False, answerable=False)
    declined = reply("The documents do not say.", [], [SEP], answered=False)
    result = graded(unanswerable, declined)
    assert result.passed and result.scores.abstention_ok and result.scores.hit is None
    wrongly = graded(unanswerable, GOOD)
    assert wrongly.reasons == ["answered a question the documents do not answer"]
    assert wrongly.scores.correct is False
    assert graded(case(expect_any=[]), declined).reasons[0] == "abstained on an answerable question"


def test_a_quote_from_an_unknown_document_is_invalid_and_unknown_texts_are_not_judged() -> None:
    ghost = reply("They will withhold and exempt [1].", [cite(1, "ghost.md", "withhold")], [MAY])
    result = graded(case(all_sources=False, sources=[MAY, "ghost.md"]), ghost)
    assert result.reasons == ["quote [1] is not verbatim in ghost.md"]
    unchecked = grade(
        case(all_sources=False, sources=[MAY, "ghost.md"]), ghost, history=[], latencies_ms=[1.0]
    )
    assert unchecked.passed and unchecked.reply is not None
    assert unchecked.reply.citations[0].quote_valid is None


def test_an_error_fails_the_question() -> None:
    result = graded(case(), None, error="TargetError: HTTP 500")
    assert not result.passed and result.reasons == ["error: TargetError: HTTP 500"]
    assert result.reply is None and result.scores.correct is False


def test_summaries_pool_questions_and_citations() -> None:
    results = [
        graded(case(id="a"), GOOD),
        graded(case(id="b", category="factoid", sources=[SEP], all_sources=False), GOOD),
        graded(
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
    assert overall.answer_words_median == 20.0  # the median length of the answered replies
    assert overall.short_answers == 1.0
    by_category = summarize_by_category(results)
    assert list(by_category) == ["temporal", "factoid"]
    assert by_category["factoid"].questions == 2 and by_category["factoid"].passed == 0


def test_chunks_merge_back_into_the_document_by_offset() -> None:
    text = "One sentence. Two sentences here. Three."
    parts = [(14, text[14:33]), (0, text[0:20]), (30, text[30:])]
    assert merge_chunks(parts) == text
    assert merge_chunks([(0, "ab"), (4, "ef")]) == "ab  ef"


def test_the_share_of_short_answers_counts_answered_replies_only() -> None:
    def answered(words: int) -> str:
        return " ".join(["withhold"] * (words - 1) + ["[1]."])

    cited = [cite(1, MAY, "withhold")]
    declined = reply("The documents do not say.", [], [SEP], answered=False)
    results = [
        graded(
            case(id="short", all_sources=False), reply(answered(SHORT_ANSWER_WORDS), cited, [MAY])
        ),
        graded(
            case(id="long", all_sources=False),
            reply(answered(SHORT_ANSWER_WORDS + 1), cited, [MAY]),
        ),
        graded(case(id="declined"), declined),
    ]

    assert SHORT_ANSWER_WORDS == 80  # the bar: the answer first, in 80 words
    assert summarize(results).short_answers == 0.5
    assert summarize(results[2:]).short_answers is None  # no answered reply


def test_a_right_answer_leads_with_the_answer_when_its_first_claim_holds_one() -> None:
    buried = reply(
        "Funding is in the news [1]; the US will withhold it, having exempted the mission [2].",
        [cite(1, MAY, "withhold further funding"), cite(2, FEB, "specifically exempted")],
        [MAY, FEB],
    )
    declined = reply("The documents do not say.", [], [SEP], answered=False)

    assert graded(case(), GOOD).scores.answer_first is True  # "withhold" before [1]
    assert graded(case(), buried).passed
    assert graded(case(), buried).scores.answer_first is False
    assert graded(case(), declined).scores.answer_first is None  # wrong: not counted
    assert summarize([graded(case(), GOOD), graded(case(), buried)]).answer_first == 0.5
