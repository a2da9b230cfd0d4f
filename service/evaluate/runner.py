"""Runs an eval set against the answerer, in-process or over the REST API, turn by turn."""

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Protocol

import httpx

from ingestion.collections import DEFAULT
from service.chat.types import ChatAnswer, ChatResponse, Message
from service.evaluate.cases import EvalCase
from service.evaluate.records import QuestionResult, Reply
from service.evaluate.scoring import grade

logger = logging.getLogger(__name__)


class TargetError(Exception):
    """The service under evaluation failed to answer; the message says how."""


class Answerer(Protocol):
    def answer(self, messages: list[Message]) -> ChatAnswer: ...


class Target(Protocol):
    """What is evaluated: answers a conversation whose last message is the user's question."""

    description: str

    def ask(self, messages: list[Message]) -> Reply: ...


class InProcessTarget:
    """The answerer of this process, as :func:`service.wiring.build_components` builds it."""

    description = "in-process"

    def __init__(self, answerer: Answerer) -> None:
        self._answerer = answerer

    def ask(self, messages: list[Message]) -> Reply:
        answer = self._answerer.answer(messages)
        return Reply.of_response(ChatResponse.of(answer), answer.question, answer.llm_support)


class ApiTarget:
    """A running service, through ``POST /api/chat``."""

    def __init__(self, base_url: str, client: httpx.Client, collection: str = DEFAULT) -> None:
        self.description = base_url.rstrip("/")
        self._client = client
        self._params = {} if collection == DEFAULT else {"collection": collection}

    def check(self) -> None:
        """Raise :class:`TargetError` unless the service answers its health check."""
        try:
            self._client.get(f"{self.description}/healthz").raise_for_status()
        except httpx.HTTPError as exc:
            raise TargetError(f"service at {self.description} is not healthy: {exc}") from exc

    def ask(self, messages: list[Message]) -> Reply:
        body = {"messages": [asdict(m) for m in messages], "stream": False}
        try:
            response = self._client.post(
                f"{self.description}/api/chat", json=body, params=self._params
            )
        except httpx.HTTPError as exc:
            raise TargetError(f"request failed: {exc}") from exc
        if response.status_code != 200:
            raise TargetError(f"HTTP {response.status_code}: {response.text[:300]}")
        return Reply.of_response(ChatResponse.model_validate(response.json()))


def run_case(
    target: Target, case: EvalCase, documents: dict[str, str] | None = None
) -> QuestionResult:
    """Ask the case's turns in order, each with the conversation so far, and grade the last."""
    messages: list[Message] = []
    replies: list[Reply] = []
    latencies: list[float] = []
    error = None
    for turn in case.turns:
        messages.append(Message(role="user", content=turn))
        started = time.perf_counter()
        try:
            reply = target.ask(messages)
        except Exception as exc:  # one failing question must not end the whole evaluation
            logger.warning("question %s failed: %s", case.id, exc, exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
            break
        latencies.append((time.perf_counter() - started) * 1000)
        replies.append(reply)
        messages.append(Message(role="assistant", content=reply.answer))
    last = None if error else replies.pop()
    return grade(
        case,
        last,
        history=[r.answer for r in replies],
        latencies_ms=latencies,
        error=error,
        documents=documents,
    )


def run_eval(
    target: Target,
    cases: list[EvalCase],
    documents: dict[str, str] | None = None,
    judge: Callable[[QuestionResult], QuestionResult] | None = None,
    on_result: Callable[[QuestionResult], object] | None = None,
) -> list[QuestionResult]:
    """Run every case in order, scored by ``judge`` if given; ``on_result`` sees each result."""
    results = []
    for case in cases:
        result = run_case(target, case, documents)
        if judge is not None:
            result = judge(result)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results
