"""The extractive answerer on the whole haiti-mss eval set: at least 90% pass.

Each question is run and graded as ``citechat eval`` does (``service.evaluate``): the answer
matches every ``expect_any`` group and no ``must_not_contain`` string, ``answered`` equals
``answerable``, the required ``sources`` are cited and every quote is in its document.
"""

from service.evaluate.cases import load_eval_set
from service.evaluate.runner import InProcessTarget, load_documents, run_eval
from service.evaluate.scoring import summarize
from service.wiring import Components
from tests.chat.chat_checks import assert_citations_valid
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


def test_the_eval_set_covers_every_category_with_30_questions_or_more() -> None:
    cases = load_eval_set(EVAL_SET)

    assert len(cases) >= 30
    assert {case.category for case in cases} == CATEGORIES
    assert any(len(case.turns) == 3 for case in cases)


def test_extractive_answers_pass_at_least_90_percent(
    chat_components: Components, chunk_texts: dict[str, str]
) -> None:
    target = InProcessTarget(chat_components.answerer)
    documents = load_documents(chat_components.retriever.store)
    results = run_eval(target, load_eval_set(EVAL_SET), documents)

    for result in results:
        assert result.reply is not None, result.error
        assert_citations_valid(result.reply, chunk_texts)
    metrics = summarize(results)
    failures = {r.id: r.reasons for r in results if not r.passed}
    assert metrics.pass_rate >= 0.9, f"{metrics.passed}/{metrics.questions} passed: {failures}"
