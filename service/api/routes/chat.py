import contextlib
import json
import logging
from collections.abc import AsyncIterator, Generator, Iterator, Mapping

import anyio
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, format_sse_event
from starlette.types import Receive, Scope, Send

from service import metrics
from service.api.access import AnswererDep
from service.api.auth import ReaderDep
from service.api.deps import SettingsDep
from service.api.schemas import ChatRequest
from service.api.validation import check_messages
from service.chat.llm import Deadline
from service.chat.types import ChatEvent, ChatResponse, Delta, Failure, Final

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["chat"], dependencies=[ReaderDep])

DESCRIPTION = """\
Answers the last message of the conversation (the user's question) from the documents.
Every `[n]` marker of `answer` has one citation, every citation is used, and each `quote` is
verbatim text of the cited chunk. `answered` is false when the documents do not answer.

With `"stream": true` the answer comes as Server-Sent Events (`text/event-stream`):

- `delta`, data `{"text": "..."}`: the next piece of the answer, any number of times;
- `citations`, data `{"citations": [...]}`: once, after the text (same items as the JSON reply);
- `done`, data `{"answered": bool, "mode": "extractive" | "llm", "notice": str | null}`: last;
- `error`, data `{"code", "detail"}`: instead of `citations`/`done` when the answer breaks off
  (an LLM failing after part of its answer was sent); the text so far is incomplete.

`filters` (published after/before, source hosts, document ids) bound retrieval: the answer
and its citations come only from the documents they admit (docs/filters.md).

In LLM mode the model's text is held back until it cites a passage, so an answer citing none
is replaced by the extractive fallback before anything is sent. Request errors (422, 413) and
an unavailable store (503) are JSON responses, before any event.
"""
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.post(
    "/chat",
    response_model=ChatResponse,
    summary="Answer a question from the documents, with citations",
    description=DESCRIPTION,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        403: {"description": "A collection this key or page origin may not use"},
        404: {"description": "No such collection"},
        413: {"description": "The request body is too large"},
        422: {"description": "Invalid conversation or collection name: see `detail`"},
        503: {"description": "The vector store is unreachable"},
    },
)
async def chat(
    request: ChatRequest, answerer: AnswererDep, settings: SettingsDep
) -> Response | ChatResponse:
    messages = check_messages(request.messages, settings)
    if not request.stream:
        answer = await run_in_threadpool(answerer.answer, messages, request.filters)
        return ChatResponse.of(metrics.count_answer(answer))
    turn = await run_in_threadpool(answerer.prepare, messages, request.filters)
    return AnswerEvents(sse_stream(answerer.stream(turn)), turn.deadline)


class AnswerEvents(EventSourceResponse):
    """An answer's events, each made in the threadpool, as Server-Sent Events.

    However the response ends (finished, or the client gone), the answer's deadline is
    cancelled and its events closed at once, not whenever the garbage collector gets to them:
    that cancels the LLM request behind them.
    """

    def __init__(self, events: Generator[bytes, None, None], deadline: Deadline) -> None:
        super().__init__(_each(events, deadline), headers=SSE_HEADERS)
        self._events = events
        self._deadline = deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._deadline.cancel()
            with contextlib.suppress(ValueError):  # running in a thread, which closes it
                self._events.close()


async def _each(events: Generator[bytes, None, None], deadline: Deadline) -> AsyncIterator[bytes]:
    """The events, each from a thread that a client leaving does not wait for."""
    while event := await anyio.to_thread.run_sync(_next, events, deadline, abandon_on_cancel=True):
        yield event


def _next(events: Generator[bytes, None, None], deadline: Deadline) -> bytes | None:
    """The next event (None at the end); the events are closed if the answer was cancelled
    meanwhile."""
    event = next(events, None)
    if deadline.cancelled:
        events.close()
    return event


def sse_stream(events: Iterator[ChatEvent]) -> Generator[bytes, None, None]:
    """The answerer's events as SSE bytes; an unexpected failure becomes an ``error`` event."""
    try:
        for event in events:
            if isinstance(event, Delta):
                yield _event("delta", {"text": event.text})
            elif isinstance(event, Final):
                reply = ChatResponse.of(metrics.count_answer(event.answer))
                citations = [c.model_dump() for c in reply.citations]
                yield _event("citations", {"citations": citations})
                done = {"answered": reply.answered, "mode": reply.mode, "notice": reply.notice}
                yield _event("done", done)
            elif isinstance(event, Failure):
                yield _event("error", {"code": event.code, "detail": event.detail})
    except Exception:
        logger.exception("chat stream failed")
        yield _event("error", {"code": "internal_error", "detail": "internal server error"})


def _event(name: str, data: Mapping[str, object]) -> bytes:
    return format_sse_event(event=name, data_str=json.dumps(data, ensure_ascii=False))
