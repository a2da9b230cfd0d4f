"""Fit hybrid retrieval's fusion on several corpora and report it held out.

    .venv/bin/python benchmarks/fit_retrieval.py \\
        --corpus NAME=DOCUMENTS_DIR:QUESTIONS.jsonl ... [--cache test-output/corpora] \\
        [--rows eval_sets/training/retrieval.csv.gz]

Each corpus is read from its index in CACHE/NAME (``make eval-corpora`` builds them). For
every answerable question with sources, the dense and BM25 rankings the answerer's retrieval
computes are written to ROWS (numbers only: no text, no document names), then the fusion
settings are fitted (service/evaluate/fusion.py) and a table printed: hit@4 and MRR per corpus
with today's settings, the fit of all corpora, and the fit of the other corpora (held out).
``make fit-retrieval`` runs it on the four development corpora.
"""

from collections.abc import Iterator
from pathlib import Path

from fitting import arguments

from ingestion.embeddings import Embedder, build_embedder
from service.chat.answerer import SCOPE_FIRST
from service.chat.condense import standalone
from service.chat.types import Message
from service.evaluate.cases import EvalCase, load_eval_set
from service.evaluate.corpora import Corpus
from service.evaluate.fusion import Fusion, Hit, RankedCase, leave_one_out, read_rows, write_rows
from service.retrieval import LEXICAL_WEIGHT, MIN_CANDIDATES, RRF_K, candidates
from service.settings import Settings
from service.wiring import Components, build_components

CANDIDATES = 4 * MIN_CANDIDATES  # chunks kept a side: more than any question's n
HEADER = """| corpus | questions | today: hit@4 / MRR | fitted on all | fitted on the others \
(held out) | the others' fit |
|---|---|---|---|---|---|"""


def main() -> None:
    args = arguments(__doc__.splitlines()[0], "eval_sets/training/retrieval.csv.gz")
    if not args.report_only:
        embedder = build_embedder(Settings())
        cases = [c for corpus in args.corpus for c in _collect(corpus, args.cache, embedder)]
        args.rows.parent.mkdir(parents=True, exist_ok=True)
        write_rows(args.rows, cases)
    current = Fusion(RRF_K, LEXICAL_WEIGHT, SCOPE_FIRST)
    print(f"today: {current}\n")  # noqa: T201
    print(HEADER)  # noqa: T201
    corpora = read_rows(args.rows)
    rows = leave_one_out(corpora, current)
    for row in rows:
        fitted = row.others
        print(  # noqa: T201
            f"| {row.corpus} | {len(corpora[row.corpus])} | {_pair(row.fixed)} "
            f"| {_pair(row.in_sample)} | {_pair(row.held_out)} | k={fitted.rrf_k:g}, "
            f"w={fitted.lexical_weight:g}, scope first={fitted.scope_first} |"
        )
    means = [_mean([getattr(r, part) for r in rows]) for part in ("fixed", "in_sample", "held_out")]
    print(f"| **mean** | | {' | '.join(map(_pair, means))} | |")  # noqa: T201


def _mean(values: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(v[0] for v in values) / len(values), sum(v[1] for v in values) / len(values)


def _pair(value: tuple[float, float]) -> str:
    return f"{value[0]:.1%} / {value[1]:.3f}"


def _collect(corpus: Corpus, cache: Path, embedder: Embedder) -> Iterator[RankedCase]:
    components = build_components(Settings(data_dir=cache / corpus.name), embedder)
    components.retriever.refresh()
    numbers: dict[str, int] = {}  # document ids as numbers, in the order first seen
    cases = [c for c in load_eval_set(corpus.questions) if c.answerable and c.sources]
    for index, case in enumerate(cases):
        yield _ranked(components, corpus.name, index, case, numbers)


def _ranked(
    components: Components, name: str, index: int, case: EvalCase, numbers: dict[str, int]
) -> RankedCase:
    """The rankings the answerer's retrieval computes for ``case``'s standalone question."""
    answerer, retriever = components.answerer, components.retriever
    _, scope, searched = answerer.scoped(standalone([Message("user", t) for t in case.turns]))
    k = answerer.depth(scope)
    sources = {numbers.setdefault(s, len(numbers)) for s in case.sources}
    ranked = RankedCase(name, index, k, candidates(k), sources)
    vector = retriever.embedder.embed_query(searched)
    lexical = retriever.lexical
    with retriever.store.connected() as store:
        dense = store.query(vector, CANDIDATES)
        sparse = lexical.search(searched, CANDIDATES) if lexical is not None else []
        ids = list(dict.fromkeys(chunk for chunk, _ in dense + sparse))
        chunks = {c.chunk_id: c for c in store.get_chunks(ids)}
    chunk_numbers = {chunk_id: i for i, chunk_id in enumerate(ids)}
    for ranking, hits in ((dense, ranked.dense), (sparse, ranked.sparse)):
        for chunk_id, _ in ranking:
            if (chunk := chunks.get(chunk_id)) is not None:
                document = str(chunk.metadata["document_id"])
                in_scope = scope.contains(str(chunk.metadata["published"]), chunk.text)
                number = numbers.setdefault(document, len(numbers))
                hits.append(Hit(chunk_numbers[chunk_id], number, in_scope))
    return ranked


if __name__ == "__main__":
    main()
