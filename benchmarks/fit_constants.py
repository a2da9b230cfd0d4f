"""Fit the extractive answerer's weights and ratios on several corpora, and report them held out.

    .venv/bin/python benchmarks/fit_constants.py \\
        --corpus NAME=DOCUMENTS_DIR:QUESTIONS.jsonl ... [--cache test-output/corpora] \\
        [--rows eval_sets/training/constants.csv.gz] [--report-only]

Each corpus is read from its index in CACHE/NAME (``make eval-corpora`` builds them). Its
questions are answered and graded once as shipped and once for each other value of each
constant of service/evaluate/constants_fit.py's grid, the other constants as shipped; the
passes (numbers only) go to ROWS. Then a table is printed: questions passed per corpus as
shipped, by the fit of all corpora and by the fit of the other corpora (held out), with the
change each held-out fit makes, and the change to ship (service/chat/weights.py or
names.py is then edited and the rows collected again). ``make fit-constants`` runs it on the
four development corpora, both cores answering at once.
"""

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from functools import cache
from pathlib import Path
from typing import Any, cast
from unittest.mock import patch

from fitting import arguments

from ingestion.embeddings import build_embedder
from service.chat.answerer import Answerer
from service.evaluate.cases import load_eval_set
from service.evaluate.constants_fit import (
    HOMES,
    Row,
    Setting,
    leave_one_out,
    read_rows,
    select,
    settings,
    shipped,
    write_rows,
)
from service.evaluate.constants_fit import table as by_setting
from service.evaluate.corpora import Corpus
from service.evaluate.runner import InProcessTarget, run_eval
from service.retrieval import Retriever
from service.settings import Settings
from service.wiring import build_components

SHIPPED = shipped()


class SearchedOnce:
    """A retriever that searches each query once: retrieval does not depend on the constants,
    and it is most of an answer's time."""

    def __init__(self, retriever: Any) -> None:
        self._retriever = retriever
        self._searched: dict[str, Any] = {}
        self.embedder = _RememberedEmbedder(retriever.embedder)

    def search(self, *args: Any) -> Any:
        key = repr(args)
        if key not in self._searched:
            self._searched[key] = self._retriever.search(*args)
        return self._searched[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._retriever, name)


class _RememberedEmbedder:
    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self.embed_query = cache(embedder.embed_query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)


def main() -> None:
    args = arguments(__doc__.splitlines()[0], "eval_sets/training/constants.csv.gz")
    if not args.report_only:
        every = settings(SHIPPED)
        halves = [every[0::2], every[1::2]]
        jobs = [(corpus, half, args.cache) for corpus in args.corpus for half in halves]
        with ProcessPoolExecutor(os.cpu_count()) as pool:
            rows = [row for done in pool.map(_collect, *zip(*jobs, strict=True)) for row in done]
        args.rows.parent.mkdir(parents=True, exist_ok=True)
        write_rows(args.rows, rows)
    corpora = by_setting(read_rows(args.rows))
    print("| corpus | questions | shipped | fitted on all | fitted on the others (held out) |")  # noqa: T201
    print("|---|---|---|---|---|")  # noqa: T201
    table = leave_one_out(corpora)
    for r in table:
        print(  # noqa: T201
            f"| {r.corpus} | {r.questions} | {r.shipped} | {r.in_sample} | {r.held_out} "
            f"({_show(r.chosen)}) |"
        )
    means = [
        sum(getattr(r, column) / r.questions for r in table) / len(table)
        for column in ("shipped", "in_sample", "held_out")
    ]
    print(f"| **mean** | | {' | '.join(f'{m:.1%}' for m in means)} |")  # noqa: T201
    print(f"\nTo ship: {_show(select(corpora))}.")  # noqa: T201


def _show(setting: Setting) -> str:
    return "as shipped" if setting is None else f"{setting[0]} = {setting[1]:g}"


def _collect(corpus: Corpus, chosen: Sequence[Setting], cache_dir: Path) -> list[Row]:
    """Every question of ``corpus`` answered and graded under each of ``chosen``."""
    settings_ = Settings(data_dir=cache_dir / corpus.name)
    components = build_components(settings_, build_embedder(settings_))
    components.retriever.refresh()
    answerer = Answerer(cast(Retriever, SearchedOnce(components.retriever)), settings_.top_k)
    cases = load_eval_set(corpus.questions)
    with components.store.connected() as store:
        documents = store.document_texts()
    rows: list[Row] = []
    for setting in chosen:
        with patch.object(HOMES[setting[0]], *setting) if setting else nullcontext():
            results = run_eval(InProcessTarget(answerer), cases, documents)
        rows += [Row(corpus.name, setting, i, r.passed) for i, r in enumerate(results)]
    return rows


if __name__ == "__main__":
    main()
