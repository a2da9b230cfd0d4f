"""What ``citechat eval`` does between reading the set and writing the report."""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ingestion.collections import DEFAULT, CollectionNotFound
from ingestion.embeddings import Embedder
from ingestion.errors import AppError
from ingestion.store import EmbeddingModelMismatch, StoreUnavailable
from service.evaluate.cases import EvalCase
from service.evaluate.judge import Judge, JudgeError, build_judge
from service.evaluate.records import QuestionResult, Report
from service.evaluate.report import build_report, describe_run
from service.evaluate.runner import ApiTarget, InProcessTarget, Target, TargetError, run_eval
from service.settings import Settings
from service.wiring import build_components, open_store

logger = logging.getLogger(__name__)

API_TIMEOUT_SECONDS = 120.0


class EvalSetupError(AppError):
    """The evaluation cannot start; the message says why."""

    code = "eval_setup_failed"


def evaluate(
    settings: Settings,
    eval_set: Path,
    cases: list[EvalCase],
    *,
    api: str | None = None,
    judge: bool = False,
    on_result: Callable[[QuestionResult], object] | None = None,
    embedder: Embedder | None = None,
    collection: str = DEFAULT,
) -> Report:
    """Run ``cases`` on ``collection`` in-process (or against the service at ``api``) and
    build the report.

    In-process, the embedding model loads unless ``embedder`` is given.
    """
    try:
        scorer = build_judge(settings) if judge else None
    except JudgeError as exc:
        raise EvalSetupError(str(exc)) from exc
    extra: dict[str, Any] = {"judge_model": scorer.model.model if scorer else None}
    if api is not None:
        with httpx.Client(timeout=API_TIMEOUT_SECONDS) as client:
            target = ApiTarget(api, client, collection)
            try:
                target.check()
            except TargetError as exc:
                raise EvalSetupError(str(exc)) from exc
            documents = _local_documents(settings, collection)
            results = _run(target, cases, documents, scorer, on_result)
        described = describe_run(target.description, results)
    else:
        local, documents = _in_process(settings, embedder, collection)
        results = _run(local, cases, documents, scorer, on_result)
        described = describe_run(local.description, results, settings)
    return build_report(eval_set, results, described | extra)


def _run(
    target: Target,
    cases: list[EvalCase],
    documents: dict[str, str] | None,
    scorer: Judge | None,
    on_result: Callable[[QuestionResult], object] | None,
) -> list[QuestionResult]:
    return run_eval(
        target, cases, documents, judge=scorer.score if scorer else None, on_result=on_result
    )


def _in_process(
    settings: Settings, embedder: Embedder | None, collection: str
) -> tuple[InProcessTarget, dict[str, str]]:
    components = build_components(settings, embedder, collection)
    with components.store.connected() as store:
        documents = store.document_texts()
    if not documents:
        raise EvalSetupError(
            f"the index at {components.store.where} holds no documents: run `citechat ingest` first"
        )
    return InProcessTarget(components.answerer), documents


def _local_documents(settings: Settings, collection: str) -> dict[str, str] | None:
    """The documents of ``collection`` in the index the settings point to, to check quotes in
    ``--api`` mode."""
    if settings.chroma_host is None and not settings.chroma_path.exists():
        documents = None
    else:
        try:
            store = open_store(settings, settings.embed_model, collection, create=False)
            documents = store.document_texts() or None
        except (StoreUnavailable, EmbeddingModelMismatch, CollectionNotFound) as exc:
            logger.warning("cannot read the local index: %s", exc)
            documents = None
    if documents is None:
        logger.warning("no local index: quotes are not checked against the documents")
    return documents
