"""The OpenAI-compatible API: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Chat UIs and SDKs that speak OpenAI's Chat Completions API use citechat as the model
``citechat`` (the default collection), or ``citechat/NAME`` for collection NAME. The answer is
the one ``/api/chat`` gives (the same answerer, in either mode); its text keeps the ``[n]``
markers and ends with a Markdown "Sources" list, and the extension field ``citechat`` carries
the ``/api/chat`` reply (on the completion, and on a stream's last chunk).
"""

import json
import logging
import time
import uuid
from collections.abc import Generator, Iterator
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.sse import format_sse_event

from ingestion.collections import DEFAULT, CollectionNotFound, InvalidCollection
from service import metrics
from service.api.access import Access, AccessDep
from service.api.auth import ReaderDep
from service.api.deps import CollectionsDep, SettingsDep
from service.api.errors import openai_error
from service.api.routes.chat import AnswerEvents
from service.api.schemas import (
    ChatCompletion,
    ChatMessage,
    CompletionChoice,
    CompletionMessage,
    CompletionOutput,
    CompletionRequest,
    ModelCard,
    ModelList,
)
from service.api.validation import check_messages
from service.chat.dates import format_date
from service.chat.types import (
    ChatAnswer,
    ChatEvent,
    ChatResponse,
    Citation,
    Delta,
    Failure,
    Final,
    Message,
)
from service.errors import InvalidRequest, ModelNotFound
from service.settings import Settings
from service.wiring import Collections, Components

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[ReaderDep])

MODEL = "citechat"
FOOTER = "\n\n---\n\n"  # a rule between the answer and what follows it: a notice, the sources
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"  # kept as is; spaces, "<", ">" and non-ASCII are %-encoded
_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>"})

DESCRIPTION = """\
OpenAI's Chat Completions API over the documents: the answer of `POST /api/chat`, whose text
keeps its `[n]` markers and ends with a Markdown **Sources** list (title, link, date). The
extension field `citechat` holds the `/api/chat` reply (`answer` without the list, `citations`,
`answered`, `mode`, `notice`, `retrieved`).

With `"stream": true`: `chat.completion.chunk` events, the last one (with `finish_reason`
`"stop"`) carrying `citechat`, then `data: [DONE]`. An answer breaking off midway ends with an
event `{"error": {...}}` instead.

`model` is `citechat` (the default collection) or `citechat/NAME` (collection NAME;
docs/collections.md); an unknown model is a 404, a collection the caller may not use a 403.
Refused (400): `n` other than 1, `tools`, `functions`, `response_format` other than text,
`logprobs`, tool messages, content parts other than text.
System and developer messages are ignored, and so are the other parameters (`temperature`,
`max_tokens`, `stop`, ...), except the extension `filters` (as `/api/chat` takes it; OpenAI
SDKs send it with `extra_body={"filters": {...}}`). Errors use OpenAI's shape
`{"error": {"message", "type", "param", "code"}}`.
"""


@router.get(
    "/models",
    response_model=ModelList,
    summary="The models: `citechat` and `citechat/NAME` per collection the caller may use",
)
def list_models(collections: CollectionsDep, access: AccessDep) -> ModelList:
    names = [name for name in collections.names() if access.permits(name)]
    return ModelList(data=[ModelCard(id=model_name(name)) for name in names])


@router.get("/models/{model:path}", response_model=ModelCard, summary="One model")
def get_model(model: str, collections: CollectionsDep, access: AccessDep) -> ModelCard:
    model_collection(model, collections, access)
    return ModelCard(id=model)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="Answer the conversation, OpenAI-style, with citations",
    description=DESCRIPTION,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        400: {"description": "Invalid or unsupported request: see `error.message`"},
        401: {"description": "A read key is required (`CITECHAT_API_KEYS`)"},
        403: {"description": "A collection (`citechat/NAME`) the caller may not use"},
        404: {"description": "Unknown model"},
        413: {"description": "The request body is too large"},
        429: {"description": "Too many requests: see `Retry-After`"},
        503: {"description": "The vector store is unreachable"},
    },
)
async def chat_completions(
    request: CompletionRequest,
    collections: CollectionsDep,
    access: AccessDep,
    settings: SettingsDep,
) -> Response | ChatCompletion:
    components = await run_in_threadpool(model_collection, request.model, collections, access)
    answerer = components.answerer
    messages = conversation(request, settings)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if not request.stream:
        answer = await run_in_threadpool(answerer.answer, messages, request.filters)
        answer = metrics.count_answer(answer)
        text = answer.answer + sources_footer(answer)
        return ChatCompletion(
            id=completion_id,
            created=created,
            model=request.model,
            choices=[CompletionChoice(message=CompletionOutput(content=text))],
            citechat=ChatResponse.of(answer),
        )
    turn = await run_in_threadpool(answerer.prepare, messages, request.filters)
    chunks = chunk_stream(answerer.stream(turn), completion_id, created, request.model)
    return AnswerEvents(chunks, turn.deadline)


def model_name(collection: str) -> str:
    """The model answering from ``collection``: ``citechat``, or ``citechat/NAME``."""
    return MODEL if collection == DEFAULT else f"{MODEL}/{collection}"


def model_collection(model: str, collections: Collections, access: Access) -> Components:
    """The collection the model ``model`` answers from: 404 unless it names one, 403 unless
    the caller may use it."""
    prefix, slash, name = model.partition("/")
    name = name if slash else DEFAULT
    if prefix != MODEL or (slash and name == DEFAULT):
        message = f"The model `{model}` does not exist: this server has `{MODEL}`."
        raise ModelNotFound(message, param="model")
    unknown = ModelNotFound(
        f"The model `{model}` does not exist: no collection {name[:60]!r} (GET /v1/models "
        "lists the models).",
        param="model",
    )
    try:
        access.check(name)
        return collections.get(name)
    except (InvalidCollection, CollectionNotFound) as exc:
        raise unknown from exc


def conversation(request: CompletionRequest, settings: Settings) -> list[Message]:
    """The request's conversation for the answerer; refuses what citechat cannot do."""
    if request.n not in (None, 1):
        raise InvalidRequest("n: citechat writes one answer; n must be 1", param="n")
    if request.tools or request.functions:
        param = "tools" if request.tools else "functions"
        raise InvalidRequest(f"{param}: citechat calls no tools", param=param)
    if (request.response_format or {}).get("type", "text") != "text":
        raise InvalidRequest("response_format: only text answers", param="response_format")
    if request.logprobs:
        raise InvalidRequest("logprobs: not available", param="logprobs")
    turns = []
    for index, message in enumerate(request.messages):
        if message.role in ("system", "developer"):
            continue  # citechat answers by its own instructions
        if message.role not in ("user", "assistant"):
            param = f"messages.{index}.role"
            raise InvalidRequest(f"{param}: citechat calls no tools", param=param)
        turns.append(ChatMessage(role=message.role, content=_text(message, index)))
    return check_messages(turns, settings)


def _text(message: CompletionMessage, index: int) -> str:
    """A message's text: the string, or its text parts; an earlier answer without its sources."""
    if isinstance(message.content, list):
        for part in message.content:
            if part.type != "text":
                param = f"messages.{index}.content"
                raise InvalidRequest(f"{param}: only text parts, got {part.type!r}", param=param)
        text = "\n".join(part.text for part in message.content)
    else:
        text = message.content or ""
    if message.role == "assistant":
        answer, footer, _ = text.rpartition(FOOTER)
        text = answer if footer else text
    return text


def sources_footer(answer: ChatAnswer) -> str:
    """What follows the answer's text, after a rule: its notice and a Markdown list of sources."""
    parts = [f"Note: {answer.notice}"] if answer.notice else []
    if answer.citations:
        first: dict[str, int] = {}  # each document's first marker: later ones refer to it
        lines = []
        for citation in answer.citations:
            marker = first.setdefault(citation.document_id, citation.marker)
            same = f"{citation.marker}. Same source as {marker}"
            lines.append(same if marker != citation.marker else _source_line(citation))
        parts.append("**Sources**\n\n" + "\n".join(lines))
    return FOOTER + "\n\n".join(parts) if parts else ""


def _source_line(citation: Citation) -> str:
    """``1. [Title](<url>), 23 May 2025``: only an http(s) source becomes a link."""
    title = (citation.title or citation.document_id).translate(_MARKDOWN_SPECIAL)
    source = citation.source
    if source.lower().startswith(("http://", "https://")):
        title = f"[{title}](<{quote(source, safe=_URL_SAFE)}>)"
    elif source:
        title += f" ({source.translate(_MARKDOWN_SPECIAL)})"
    date = format_date(citation.published)
    return f"{citation.marker}. {title}" + (f", {date}" if date else "")


def chunk_stream(
    events: Iterator[ChatEvent], completion_id: str, created: int, model: str = MODEL
) -> Generator[bytes, None, None]:
    """The answerer's events as ``chat.completion.chunk`` events, then ``[DONE]``.

    An answer that breaks off, or an unexpected failure, ends the stream with OpenAI's error
    event instead (the openai client raises it).
    """

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: object) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [choice],
            **extra,
        }
        return _data(body)

    yield chunk({"role": "assistant", "content": ""})
    try:
        for event in events:
            if isinstance(event, Delta):
                yield chunk({"content": event.text})
            elif isinstance(event, Final):
                answer = metrics.count_answer(event.answer)
                footer = sources_footer(answer)
                if footer:
                    yield chunk({"content": footer})
                yield chunk({}, "stop", citechat=ChatResponse.of(answer).model_dump())
            elif isinstance(event, Failure):
                yield _data(openai_error(500, event.code, event.detail))
                return
    except Exception:
        logger.exception("chat completion stream failed")
        yield _data(openai_error(500, "internal_error", "internal server error"))
        return
    yield format_sse_event(data_str="[DONE]")


def _data(body: dict[str, object]) -> bytes:
    return format_sse_event(data_str=json.dumps(body, ensure_ascii=False))
