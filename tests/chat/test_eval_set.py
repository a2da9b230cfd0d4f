"""The extractive answerer on the whole haiti-mss eval set: at least 90% right.

A question is right when every ``expect_any`` group matches the answer, the cited documents
include the expected ``sources`` (all of them with ``all_sources``), and ``answered`` equals
``answerable``. ``citechat eval`` reports the same set in detail.
"""

from service.chat.types import ChatAnswer
from service.evaluate.cases import EvalCase, load_eval_set, missing_groups
from service.wiring import Components
from tests.chat.chat_checks import ask, assert_citations_valid
from tests.helpers import PROJECT_DIR

EVAL_SET = PROJECT_DIR / "eval_sets" / "haiti-mss.jsonl"
CATEGORIES = {
    "temporal",
    "factoid",
    "paraphrase",
    "multi_turn",
    "unanswerable",
    "false_premise",
    "prompt_injection",
}


def problems(case: EvalCase, answer: ChatAnswer) -> list[str]:
    found = []
    if answer.answered != case.answerable:
        found.append(f"answered={answer.answered}, expected {case.answerable}")
    if case.answerable:
        found += [
            f"missing one of {group}" for group in missing_groups(answer.answer, case.expect_any)
        ]
        cited = {c.document_id for c in answer.citations}
        wanted = set(case.sources)
        if wanted and not (wanted <= cited if case.all_sources else wanted & cited):
            found.append(f"cited {sorted(cited)}, expected {sorted(wanted)}")
    return found


def test_the_eval_set_covers_every_category_with_30_questions_or_more() -> None:
    cases = load_eval_set(EVAL_SET)

    assert len(cases) >= 30
    assert {case.category for case in cases} == CATEGORIES
    assert any(len(case.turns) == 3 for case in cases)


def test_extractive_answers_get_at_least_90_percent_right(
    chat_components: Components, chunk_texts: dict[str, str]
) -> None:
    cases = load_eval_set(EVAL_SET)
    failures = {}
    for case in cases:
        answer = ask(chat_components.answerer, *case.turns)
        assert_citations_valid(answer, chunk_texts)
        if found := problems(case, answer):
            failures[case.id] = found

    right = len(cases) - len(failures)
    assert right / len(cases) >= 0.9, f"{right}/{len(cases)} right; wrong: {failures}"
