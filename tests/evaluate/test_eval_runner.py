"""The runner in-process with the real answerer, and the gate on a degraded configuration."""

from pathlib import Path

import pytest

from ingestion.embeddings import Embedder
from ingestion.loaders import load_document
from service.chat.answerer import Answerer
from service.evaluate.cases import EvalCase, load_eval_set
from service.evaluate.gate import compare, gate_markdown
from service.evaluate.records import Report
from service.evaluate.report import build_report, render_html
from service.evaluate.runner import InProcessTarget, run_eval
from service.filters import Filters
from service.retrieval import Passage, Retriever
from service.settings import Settings
from service.wiring import build_components, build_language_model
from tests.helpers import PROJECT_DIR, make_settings
from tests.llm_stub import LLMStub

SAMPLE_DOCUMENTS = PROJECT_DIR / "examples" / "haiti-mss"


class WrongDocumentRetriever(Retriever):
    """Deliberately degraded: never returns chunks of the document that best matches."""

    def search(
        self,
        query: str,
        k: int,
        embedding: list[float] | None = None,
        filters: Filters | None = None,
    ) -> list[Passage]:
        ranked = super().search(query, 50, embedding, filters)
        best = ranked[0].document_id if ranked else None
        return [p for p in ranked if p.document_id != best][:k]


@pytest.fixture(scope="module")
def cases(subset: Path) -> list[EvalCase]:
    return load_eval_set(subset)


def evaluate(retriever: Retriever, settings: Settings, cases: list[EvalCase]) -> Report:
    with retriever.store.connected() as store:
        documents = store.document_texts()
    results = run_eval(InProcessTarget(Answerer(retriever, settings.top_k)), cases, documents)
    return build_report(Path("haiti-mss.jsonl"), results, {"target": "in-process"})


@pytest.fixture(scope="module")
def current(sample_settings: Settings, embedder: Embedder, cases: list[EvalCase]) -> Report:
    return evaluate(build_components(sample_settings, embedder).retriever, sample_settings, cases)


def test_documents_are_rebuilt_verbatim_from_their_chunks(
    sample_settings: Settings, embedder: Embedder
) -> None:
    with build_components(sample_settings, embedder).store.connected() as store:
        documents = store.document_texts()
    assert len(documents) == 3
    for document_id, text in documents.items():
        assert (
            text
            == load_document(
                SAMPLE_DOCUMENTS / document_id, document_id, sample_settings.file_limits
            ).text
        )


def test_multi_turn_questions_carry_the_conversation(current: Report) -> None:
    three_turns = next(q for q in current.questions if q.id == "multi-and-now")
    assert len(three_turns.history) == 2 and len(three_turns.latencies_ms) == 3
    assert three_turns.reply is not None and three_turns.reply.question != "And now?"
    assert current.overall.quote_validity == 1.0


def test_the_gate_passes_on_the_current_configuration(
    current: Report, sample_settings: Settings, embedder: Embedder, cases: list[EvalCase]
) -> None:
    again = evaluate(build_components(sample_settings, embedder).retriever, sample_settings, cases)
    result = compare(current, again, max_drop=0.02)
    assert result.passed, gate_markdown(result, "current")


def test_the_gate_fails_when_the_retriever_returns_unrelated_chunks(
    current: Report, sample_settings: Settings, embedder: Embedder, cases: list[EvalCase]
) -> None:
    retriever = build_components(sample_settings, embedder).retriever
    degraded_retriever = WrongDocumentRetriever(retriever.store, embedder, refresh_seconds=0)
    degraded = evaluate(degraded_retriever, sample_settings, cases)
    result = compare(current, degraded, max_drop=0.02)
    assert not result.passed
    assert {c.name for c in result.drops} >= {"pass_rate", "hit_at_k", "mrr"}
    assert len(result.regressions) >= current.overall.passed // 2
    text = gate_markdown(result, "current")
    assert "FAILED" in text and "baseline answer:" in text and "current answer:" in text


def test_llm_mode_reports_the_share_of_claims_kept(
    sample_settings: Settings, embedder: Embedder, cases: list[EvalCase], llm_stub: LLMStub
) -> None:
    """Each reply: one claim its passage holds, one with a figure it lacks (or nothing)."""
    settings = make_settings(sample_settings.data_dir, llm_base_url=llm_stub.url)
    retriever = build_components(sample_settings, embedder).retriever
    answerer = Answerer(retriever, settings.top_k, build_language_model(settings))
    asked = [case for case in cases if len(case.turns) == 1][:2]
    llm_stub.script(
        "The US plans to withhold further funding [1]. It pledged $999 billion [1].",
        "Gangs pledged $999 billion [1].",
    )

    results = run_eval(InProcessTarget(answerer), asked)
    report = build_report(Path("subset.jsonl"), results, {"target": "in-process"})

    supports = [r.reply.llm_support for r in results if r.reply]
    assert [r.reply.mode for r in results if r.reply] == ["llm", "extractive"]
    assert supports == [0.5, 0.0]
    assert [r.scores.citation_support for r in results] == supports
    assert report.overall.citation_support == 0.25
    assert "LLM claims kept: 0.0%" in render_html(report)
