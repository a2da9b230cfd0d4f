"""Request and response bodies of the HTTP API."""

from typing import Literal

from pydantic import BaseModel, Field

from service.settings import MESSAGES_CEILING


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


class UploadResponse(BaseModel):
    status: Literal["new", "changed", "unchanged"] = Field(
        description="unchanged: this exact content was stored already; nothing was embedded."
    )
    chunks_embedded: int
    document: DocumentInfo


class Status(BaseModel):
    status: str


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


class CitationOut(BaseModel):
    marker: int = Field(description="The [n] marker of the answer that cites this source.")
    document_id: str
    title: str
    source: str
    published: str
    quote: str = Field(description="Verbatim text of the cited chunk supporting the claim.")
    chunk_id: str
    score: float


class RetrievedOut(BaseModel):
    document_id: str
    chunk_id: str
    score: float


class ChatResponse(BaseModel):
    answer: str
    answered: bool = Field(description="False when the documents do not answer the question.")
    citations: list[CitationOut]
    mode: Literal["extractive", "llm"]
    notice: str | None = Field(description="Why the answer is not what was asked for, if so.")
    retrieved: list[RetrievedOut] = Field(description="The passages retrieved, best first.")
