"""Request and response bodies of the HTTP API."""

from pydantic import BaseModel


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
    documents: list[DocumentInfo]


class Status(BaseModel):
    status: str
