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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from pydantic import PrivateAttr

from ingestion.embeddings import Embedder
from ingestion.loaders import FileLimits, discover, load_document
from service.chat.answerer import Answerer
from service.chat.condense import standalone
from service.chat.types import Message
from service.evaluate.cases import EvalCase, load_eval_set
from service.evaluate.metrics import hit_at_k, reciprocal_rank
from service.retrieval import Retriever
from service.settings import Settings
from service.wiring import Components, build_components

Search = Callable[[str], list[str]]  # question -> document ids of the passages, best first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the folder that was ingested")
    parser.add_argument("questions", type=Path, help="an eval set (JSONL)")
    parser.add_argument("--k", type=int, default=4, help="passages retrieved per question")
    args = parser.parse_args()
    cases = [c for c in load_eval_set(args.questions) if c.answerable and c.sources]
    rows = compare(args.corpus, cases, args.k, build_components(Settings()))
    print(f"{len(cases)} answerable questions of {args.questions}, k={args.k}\n")  # noqa: T201
    print("| retrieval | hit@k | MRR |\n|---|---|---|")  # noqa: T201
    for name, (hits, ranks) in rows.items():
        print(f"| {name} | {hits:.1%} | {ranks:.3f} |")  # noqa: T201


def compare(
    corpus: Path, cases: list[EvalCase], k: int, components: Components
) -> dict[str, tuple[float, float]]:
    """(hit@k, MRR) of each retrieval over ``cases``, on the index ``components`` opens."""
    retriever = components.retriever
    retriever.mode = "hybrid"
    retriever.refresh()  # builds BM25 once; the dense row only ignores it
    rows = {
        "dense": _citechat(retriever, "dense", k),
        "hybrid": _citechat(retriever, "hybrid", k),
        "hybrid + time scope": _scoped(components.answerer, retriever, k),
        "llama-index default": _llama_index(
            corpus, retriever.embedder, k, components.settings.file_limits
        ),
    }
    return {name: _score(search, cases, k) for name, search in rows.items()}


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


def _scoped(answerer: Answerer, retriever: Retriever, k: int) -> Search:
    """What the answerer retrieves for a question, first k passages."""

    def search(question: str) -> list[str]:
        retriever.mode = "hybrid"
        turn = answerer.prepare([Message("user", question)])
        return [p.document_id for p in turn.passages[:k]]

    return search


class _SameModel(BaseEmbedding):
    """citechat's embedder as a llama-index embedding, so both pipelines use one model."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.name, **kwargs)
        self._embedder = embedder

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed_documents([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_documents(texts)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_query(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def _llama_index(corpus: Path, embedder: Embedder, k: int, limits: FileLimits) -> Search:
    documents = []
    for found in discover(corpus).files:
        loaded = load_document(found.path, found.document_id, limits)
        documents.append(Document(text=loaded.text, metadata={"document_id": loaded.document_id}))
    index = VectorStoreIndex.from_documents(documents, embed_model=_SameModel(embedder))
    engine = index.as_retriever(similarity_top_k=k)

    def search(question: str) -> list[str]:
        return [str(n.node.metadata["document_id"]) for n in engine.retrieve(question)]

    return search


if __name__ == "__main__":
    main()
