"""Request and response bodies of the HTTP API."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.chat.types import ChatResponse
from service.filters import Filters
from service.settings import MESSAGES_CEILING

UploadStatus = Literal["new", "changed", "unchanged"]


class SearchResult(BaseModel):
    document_id: str
    title: str
    source: str
    published: str
    text: str
    chunk_id: str
    score: float


class SearchResponse(BaseModel):
    results: list[SearchResult]


class SearchFilters(Filters):
    """:class:`Filters` as query parameters of ``GET /api/search``, beside its own (``q``, ``k``),
    which a query string's model is given too: other names are ignored, not refused."""

    model_config = ConfigDict(frozen=True, extra="ignore")


FILTERS_DESCRIPTION = (
    "Optional: only passages of the documents these filters admit are retrieved, so the answer, "
    "its citations and a no-answer message come from them alone (docs/filters.md)."
)


class DocumentInfo(BaseModel):
    document_id: str
    title: str
    source: str
    published: str
    chunks: int


class DocumentsResponse(BaseModel):
    documents: list[DocumentInfo] = Field(description="In document_id order.")
    total: int = Field(description="How many documents are stored.")
    next_offset: int | None = Field(description="The offset of the next page; null on the last.")


class CollectionsResponse(BaseModel):
    collections: list[str] = Field(description="Their names, `default` first.")


class UploadResponse(BaseModel):
    status: UploadStatus = Field(
        description="unchanged: this exact content was stored already; nothing was embedded."
    )
    chunks_embedded: int
    document: DocumentInfo


class Status(BaseModel):
    status: str
    detail: str | None = None


# --- Chat (POST /api/chat) ---


class ChatMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    """The conversation so far; the last message is the user's question."""

    messages: list[ChatMessage] = Field(
        # Checked before the items are: a huge list is refused without validating each one.
        max_length=MESSAGES_CEILING,
        description="Earlier turns first; the server keeps no session state.",
    )
    stream: bool = Field(default=False, description="Answer as Server-Sent Events.")
    filters: Filters | None = Field(default=None, description=FILTERS_DESCRIPTION)


# --- OpenAI-compatible chat (POST /v1/chat/completions, GET /v1/models) ---


class ContentPart(BaseModel):
    """A part of a message's content; only ``text`` parts are supported."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str = ""


class CompletionMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, refusal, ...: ignored

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class CompletionRequest(BaseModel):
    """OpenAI's chat completions request. Parameters not declared here are accepted and
    ignored (temperature, top_p, max_tokens, stop, seed, user, stream_options, ...)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(
        description="`citechat` (the default collection) or `citechat/NAME` (collection NAME), "
        "as `GET /v1/models` lists them."
    )
    messages: list[CompletionMessage] = Field(
        max_length=MESSAGES_CEILING,  # as for /api/chat: checked before the items are
        description="The conversation; system and developer messages are ignored.",
    )
    stream: bool | None = False  # null, as some clients send for unset parameters, is the default
    n: int | None = Field(default=1, description="Must be 1.")
    tools: list[dict[str, Any]] | None = Field(default=None, description="Refused when given.")
    functions: list[dict[str, Any]] | None = Field(default=None, description="Refused when given.")
    response_format: dict[str, Any] | None = Field(
        default=None, description='Only `{"type": "text"}`.'
    )
    logprobs: bool | None = Field(default=None, description="Refused when true.")
    filters: Filters | None = Field(
        default=None,
        description="Extension (OpenAI SDKs send it with `extra_body`). " + FILTERS_DESCRIPTION,
    )


class CompletionOutput(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class CompletionChoice(BaseModel):
    index: int = 0
    message: CompletionOutput
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: None = Field(default=None, description="Not reported.")
    citechat: ChatResponse = Field(
        description="Extension: the `/api/chat` reply (answer without the Sources list, "
        "citations, answered, mode, notice, retrieved)."
    )


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "citechat"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class SyncFailure(BaseModel):
    url: str
    reason: str


class SyncRun(BaseModel):
    """A sync source's last run, as `citechat sync` recorded it."""

    finished: str = Field(description="When it ended, ISO 8601 in UTC.")
    ok: bool = Field(description="Its listing and every page were read.")
    error: str = Field(description="Why its listing could not be read, or empty.")
    listed: int
    new: int
    changed: int
    unchanged: int
    failed: int
    pruned: int
    chunks_embedded: int
    failures: list[SyncFailure] = Field(description="The first 50 failed pages.")


class SourceInfo(BaseModel):
    name: str
    kind: Literal["feed", "sitemap", "urls"]
    urls: list[str]
    prune: bool
    collection: str = Field(description="The collection its documents are stored in.")
    last_run: SyncRun | None = Field(description="Null before the source's first sync.")


class SourcesResponse(BaseModel):
    sources: list[SourceInfo] = Field(description="As CITECHAT_SYNC_SOURCES lists them.")
    interval_minutes: float = Field(description="Of the server's own syncs; 0: none (cron).")


class URLIngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, description="An http(s) URL to fetch.")
    replace: bool = Field(
        default=False, description="Replace a stored version with other content (as PUT does)."
    )
