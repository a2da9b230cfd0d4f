"""Fit when the extractive answer abstains, on several corpora, and report it held out.

    .venv/bin/python benchmarks/fit_abstention.py \\
        --corpus NAME=DOCUMENTS_DIR:QUESTIONS.jsonl ... [--cache test-output/corpora] \\
        [--rows eval_sets/training/abstention.csv.gz] [--report-only]

Each corpus is read from its index in CACHE/NAME (``make eval-corpora`` builds them). Its
questions are answered with abstention switched off, and each answer graded: the rows (numbers
only) go to ROWS. Then the model is fitted (service/evaluate/abstention_fit.py) and a table
printed: questions passed per corpus by the hand-set rules, by the fit of all corpora and by the
fit of the other corpora (held out), then the held-out passes by question category. Whichever
of the rules and the fit does better held out is written to service/chat/abstention.json.
``make fit-abstention`` runs it on the four development corpora.
"""

from pathlib import Path

from fitting import arguments

from ingestion.embeddings import build_embedder
from service.chat.abstention import MODEL_PATH, Signals
from service.chat.answerer import Answerer
from service.evaluate.abstention_fit import (
    Outcome,
    Row,
    by_category,
    leave_one_out,
    read_rows,
    select,
    write_rows,
)
from service.evaluate.cases import load_eval_set
from service.evaluate.corpora import Corpus
from service.evaluate.records import QuestionResult
from service.evaluate.runner import InProcessTarget, run_eval
from service.settings import Settings
from service.wiring import build_components

HEADER = """| corpus | questions | rules | fitted on all | fitted on the others (held out) |
|---|---|---|---|---|"""


class Recorder:
    """A decision that always answers and keeps the signals it was last asked about."""

    def __init__(self) -> None:
        self.last: Signals | None = None

    def __call__(self, signals: Signals) -> bool:
        self.last = signals
        return True


def main() -> None:
    args = arguments(__doc__.splitlines()[0], "eval_sets/training/abstention.csv.gz")
    if not args.report_only:
        rows = [row for corpus in args.corpus for row in _collect(corpus, args.cache)]
        args.rows.parent.mkdir(parents=True, exist_ok=True)
        write_rows(args.rows, rows)
    corpora = read_rows(args.rows)
    MODEL_PATH.write_text(select(corpora).to_json(), encoding="utf-8")
    print(HEADER)  # noqa: T201
    table = leave_one_out(corpora)
    for r in table:
        print(  # noqa: T201
            f"| {r.corpus} | {r.rules.questions} | {_show(r.rules)} | {_show(r.in_sample)} "
            f"| {_show(r.held_out)} |"
        )
    means = [_mean([r.rules for r in table]), _mean([r.in_sample for r in table])]
    means.append(_mean([r.held_out for r in table]))
    print(f"| **mean** | | {' | '.join(means)} |")  # noqa: T201
    print("\nHeld out, by category:")  # noqa: T201
    questions = {corpus.name: corpus.questions for corpus in args.corpus}
    for r in table:
        categories = [case.category for case in load_eval_set(questions[r.corpus])]
        split = by_category(corpora[r.corpus], r.answers, categories)
        shown = ", ".join(f"{c} {o.passed}/{o.questions}" for c, o in split.items())
        print(f"- {r.corpus}: {shown}")  # noqa: T201


def _show(o: Outcome) -> str:
    return (
        f"{o.passed}/{o.questions} ({o.passed / o.questions:.0%}); unanswerable abstained "
        f"{o.unanswerable_abstained}/{o.unanswerable}, answerable abstained "
        f"{o.answerable_abstained}/{o.answerable}"
    )


def _mean(outcomes: list[Outcome]) -> str:
    return f"{sum(o.passed / o.questions for o in outcomes) / len(outcomes):.1%}"


def _collect(corpus: Corpus, cache: Path) -> list[Row]:
    settings = Settings(data_dir=cache / corpus.name)
    components = build_components(settings, build_embedder(settings))
    recorder = Recorder()
    answerer = Answerer(components.retriever, settings.top_k, decide=recorder)
    with components.store.connected() as store:
        documents = store.document_texts()
    rows: list[Row] = []

    def record(result: QuestionResult) -> None:
        signals = recorder.last
        recorder.last = None
        values = signals.values() if signals is not None else [0.0] * len(Signals.names())
        rows.append(
            Row(
                corpus.name,
                len(rows),
                result.answerable,
                result.passed,
                signals is not None,
                tuple(values),
            )
        )

    run_eval(InProcessTarget(answerer), load_eval_set(corpus.questions), documents, None, record)
    return rows


if __name__ == "__main__":
    main()
