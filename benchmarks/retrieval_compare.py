"""Retrieval quality on an eval set: hit@k and MRR of citechat's retrieval modes and of
llama-index's default pipeline on the same corpus.

    CITECHAT_DATA_DIR=/tmp/newsdesk-data .venv/bin/citechat ingest CORPUS
    CITECHAT_DATA_DIR=/tmp/newsdesk-data .venv/bin/python benchmarks/retrieval_compare.py \\
        CORPUS QUESTIONS.jsonl [--k 4]

Rows: ``dense`` (Chroma vectors only), ``hybrid`` (dense + BM25, fused by rank), ``hybrid +
time scope`` (the answerer's retrieval: the question's dates are its time scope, not query
words, and passages published within the scope come first) and ``llama-index default``
(``VectorStoreIndex`` over the same files with its default ``SentenceSplitter``, the same local
embedding model passed explicitly, ``llm=None``). Answerable questions with ``sources`` only;
a follow-up is asked as its standalone question (the earlier user turns and the last one).
"""

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from llama_index.core import Document, VectorStoreIndex

from ingestion.embeddings import LocalEmbedder
from ingestion.loaders import discover, load_document
from service.chat.condense import standalone
from service.chat.dates import time_scope
from service.chat.types import Message
from service.evaluate.cases import EvalCase, load_eval_set
from service.evaluate.metrics import hit_at_k, reciprocal_rank
from service.retrieval import Retriever
from service.settings import Settings
from service.wiring import build_components

Search = Callable[[str], list[str]]  # question -> document ids of the passages, best first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the folder that was ingested")
    parser.add_argument("questions", type=Path, help="an eval set (JSONL)")
    parser.add_argument("--k", type=int, default=4, help="passages retrieved per question")
    args = parser.parse_args()
    cases = [c for c in load_eval_set(args.questions) if c.answerable and c.sources]
    components = build_components(Settings())
    retriever = components.retriever
    today = dt.date.today()
    rows = {
        "dense": _citechat(retriever, "dense", args.k),
        "hybrid": _citechat(retriever, "hybrid", args.k),
        "hybrid + time scope": _scoped(retriever, args.k, today),
        "llama-index default": _llama_index(args.corpus, retriever.embedder, args.k),
    }
    print(f"{len(cases)} answerable questions of {args.questions}, k={args.k}\n")  # noqa: T201
    print("| retrieval | hit@k | MRR |\n|---|---|---|")  # noqa: T201
    for name, search in rows.items():
        hits, ranks = _score(search, cases, args.k)
        print(f"| {name} | {hits:.1%} | {ranks:.3f} |")  # noqa: T201


def _question(case: EvalCase) -> str:
    return standalone([Message("user", turn) for turn in case.turns]).text


def _score(search: Search, cases: list[EvalCase], k: int) -> tuple[float, float]:
    hits = ranks = 0.0
    for case in cases:
        retrieved = search(_question(case))
        hits += hit_at_k(retrieved, case.sources, k)
        ranks += reciprocal_rank(retrieved, case.sources)
    return hits / len(cases), ranks / len(cases)


def _citechat(retriever: Retriever, mode: str, k: int) -> Search:
    def search(question: str) -> list[str]:
        retriever.mode = mode  # type: ignore[assignment]
        return [p.document_id for p in retriever.search(question, k)]

    return search


def _scoped(retriever: Retriever, k: int, today: dt.date) -> Search:
    """What the answerer retrieves: dates out of the query, deeper, in-scope passages first."""

    def search(question: str) -> list[str]:
        retriever.mode = "hybrid"
        scope = time_scope(question, today)
        depth = k * 2 if scope.temporal else k
        passages = retriever.search(scope.without_dates(question), depth)
        passages.sort(key=lambda p: not scope.contains(p.published))
        return [p.document_id for p in passages[:k]]

    return search


def _llama_index(corpus: Path, embedder: object, k: int) -> Search:
    assert isinstance(embedder, LocalEmbedder), "the comparison uses the local model"
    documents = []
    for path, root in discover([corpus]):
        loaded = load_document(path, root)
        documents.append(Document(text=loaded.text, metadata={"document_id": loaded.document_id}))
    index = VectorStoreIndex.from_documents(
        documents,
        embed_model=embedder._model,  # the same HuggingFaceEmbedding, given explicitly
    )
    engine = index.as_retriever(similarity_top_k=k)

    def search(question: str) -> list[str]:
        return [str(n.node.metadata["document_id"]) for n in engine.retrieve(question)]

    return search


if __name__ == "__main__":
    main()
