"""Several corpora scored at once: each folder of articles indexed on its own and its question
set answered against it, in one table per corpus and per category (``citechat eval-corpora``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingestion.embeddings import Embedder
from ingestion.pipeline import ingest
from service.evaluate.cases import load_eval_set
from service.evaluate.records import QuestionResult
from service.evaluate.report import percent, words
from service.evaluate.runner import InProcessTarget, run_eval
from service.evaluate.scoring import SHORT_ANSWER_WORDS, summarize, summarize_by_category
from service.settings import Settings
from service.wiring import build_components, open_store


@dataclass(frozen=True)
class Corpus:
    """A folder of articles and the question set written for it."""

    name: str
    documents: Path
    questions: Path

    @classmethod
    def parse(cls, spec: str) -> "Corpus":
        """``NAME=DOCUMENTS_DIR:QUESTIONS.jsonl``, as ``--corpus`` takes it."""
        name, _, paths = spec.partition("=")
        documents, _, questions = paths.partition(":")
        if not name or not documents or not questions:
            raise ValueError(f"expected NAME=DOCUMENTS_DIR:QUESTIONS.jsonl, got {spec!r}")
        return cls(name, Path(documents), Path(questions))


def score(corpus: Corpus, settings: Settings, embedder: Embedder) -> list[QuestionResult]:
    """Bring the index at ``settings.data_dir`` in line with ``corpus``'s folder (unchanged
    files cost nothing), then answer and grade every question of its set."""
    cases = load_eval_set(corpus.questions)
    store = open_store(settings, embedder.name)
    splitter = settings.splitter()
    report = ingest([corpus.documents], store, embedder, splitter, limits=settings.file_limits)
    if report.failed:
        path, reason = report.failed[0]
        raise ValueError(f"{corpus.name}: {len(report.failed)} files failed ({path}: {reason})")
    components = build_components(settings, embedder)
    with components.store.connected() as connected:
        documents = connected.document_texts()
    return run_eval(InProcessTarget(components.answerer), cases, documents)


def table(results: Mapping[str, Sequence[QuestionResult]]) -> str:
    """Questions passed per corpus, overall and per category, with the share of right
    answers that lead with the answer, the median length of the answered replies and their
    share of short ones (:func:`service.evaluate.report.markdown_summary`), as a Markdown
    table, with abstention pooled over the corpora."""
    lines = [
        f"| corpus | category | passed | answer first | words | ≤ {SHORT_ANSWER_WORDS} words |",
        "|---|---|---|---|---|---|",
    ]
    for name, mine in results.items():
        by_category = sorted(summarize_by_category(mine).items(), key=lambda item: item[0])
        groups = [("**all**", summarize(mine)), *by_category]
        for label, m in groups:
            lines.append(
                f"| {name} | {label} | {m.passed}/{m.questions} ({100 * m.pass_rate:.0f}%) "
                f"| {percent(m.answer_first)} | {words(m.answer_words_median)} "
                f"| {percent(m.short_answers)} |"
            )
    pooled = [r for mine in results.values() for r in mine]
    unanswerable = [r for r in pooled if not r.answerable]
    answerable = [r for r in pooled if r.answerable]
    abstained = sum(not _answered(r) for r in unanswerable)
    wrongly = sum(not _answered(r) for r in answerable)
    lines += [
        "",
        f"Pooled: unanswerable abstained {abstained}/{len(unanswerable)}, "
        f"answerable wrongly abstained {wrongly}/{len(answerable)}.",
    ]
    return "\n".join(lines) + "\n"


def _answered(result: QuestionResult) -> bool:
    return result.reply is not None and result.reply.answered
