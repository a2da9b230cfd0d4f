"""Listing, uploading, replacing and deleting documents (writes need an admin key).

An upload goes through the CLI's loaders and ``ingestion.pipeline.ingest_document``: the same
parsing, content hashing and crash-safe replace. Uploads are parsed and embedded on worker
threads, one at a time per process.
"""

import unicodedata
from pathlib import PurePosixPath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from ingestion.collections import DEFAULT
from ingestion.fetch import FetchError, Refused
from ingestion.loaders import (
    SUPPORTED_SUFFIXES,
    FileLimits,
    LoadedDocument,
    LoadError,
    check_document_id,
    read_document,
)
from ingestion.pipeline import delete, ingest_document
from ingestion.store import FOLDER, SYNC, StoredDocument
from ingestion.store_client import StoreConnection
from ingestion.sync import fetch_document, load_sources, source_hosts
from service.api.access import AdminCollectionDep, ReadDep, WriteDep
from service.api.auth import ADMIN_ERRORS, AdminDep, ReaderDep
from service.api.deps import SettingsDep
from service.api.forms import Utf8FormRoute
from service.api.schemas import (
    DocumentInfo,
    DocumentsResponse,
    UploadResponse,
    UploadStatus,
    URLIngestRequest,
)
from service.errors import (
    Conflict,
    FetchFailed,
    FileTooLarge,
    InvalidDocument,
    NotFound,
    UnsupportedFileType,
    URLRefused,
)
from service.settings import Settings
from service.wiring import Components

router = APIRouter(prefix="/api", tags=["documents"], route_class=Utf8FormRoute)
UPLOAD_ERRORS: dict[int | str, dict[str, str]] = {
    **ADMIN_ERRORS,
    400: {"description": "A form field, field name or file name that is not UTF-8"},
    413: {"description": "The file is larger than CITECHAT_MAX_FILE_BYTES"},
    415: {"description": "Not a .md, .markdown, .txt, .html, .htm or .pdf file"},
    422: {"description": "A file or field that cannot be used: see `detail`"},
}
FileField = Annotated[UploadFile, File(description="A .md, .markdown, .txt, .html or .pdf file.")]
TitleField = Annotated[str, Form(description="Overrides the file's own title.")]
SourceField = Annotated[str, Form(description="Overrides the file's source URL.")]
PublishedField = Annotated[str, Form(description="YYYY-MM-DD; overrides the file's date.")]


@router.get(
    "/documents",
    response_model=DocumentsResponse,
    summary="The stored documents, a page at a time",
    dependencies=[ReaderDep],
)
async def list_documents(
    components: ReadDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Documents per page.")] = 100,
    offset: Annotated[int, Query(ge=0, description="Documents to skip.")] = 0,
) -> DocumentsResponse:
    stored = await run_in_threadpool(components.store.documents)
    ordered = sorted(stored.values(), key=lambda d: d.document_id)
    end = offset + limit
    return DocumentsResponse(
        documents=[_info(d) for d in ordered[offset:end]],
        total=len(ordered),
        next_offset=end if end < len(ordered) else None,
    )


@router.get(
    "/documents/{document_id:path}",
    response_model=DocumentInfo,
    summary="One stored document",
    dependencies=[ReaderDep],
    responses={404: {"description": "No such document"}},
)
async def get_document(document_id: str, components: ReadDep) -> DocumentInfo:
    document_id = unicodedata.normalize("NFC", document_id)  # as ids are stored
    stored = await run_in_threadpool(_one_document, components.store, document_id)
    if stored is None:
        raise NotFound(f"no document {document_id!r}")
    return _info(stored)


@router.post(
    "/documents",
    status_code=201,
    response_model=UploadResponse,
    summary="Upload a new document",
    description="201 with a `Location` header for a new document. Re-uploading the content "
    "already stored under that id is a 200 `unchanged` (nothing embedded); other content under "
    "an existing id, or any content under the id of a document `citechat ingest` stored from a "
    "folder, is a 409: replace it with PUT.",
    dependencies=[AdminDep],
    responses={**UPLOAD_ERRORS, 200: {"description": "Already stored, unchanged"}, 409: {}},
)
async def upload_document(
    components: WriteDep,
    settings: SettingsDep,
    response: Response,
    file: FileField,
    document_id: Annotated[
        str | None, Form(description="Default: the file name. A relative path, like a.md.")
    ] = None,
    title: TitleField = "",
    source: SourceField = "",
    published: PublishedField = "",
) -> UploadResponse:
    name = file.filename or ""
    doc = await _read(settings.file_limits, file, document_id or name, title, source, published)
    result = await run_in_threadpool(_write, components, settings, doc, False)
    return _created_or_found(result, doc.document_id, components.store.name, response)


@router.post(
    "/documents/from-url",
    status_code=201,
    response_model=UploadResponse,
    summary="Fetch a web page and store it",
    description="The page is fetched under the rules of `citechat sync` (docs/sync.md): an "
    "http(s) URL on CITECHAT_SYNC_ALLOWED_HOSTS (default: the hosts of the sync sources), no "
    "private address, robots.txt, size and time caps. Its id is its canonical URL without the "
    "scheme; it is stored as an upload, with the statuses of POST (or PUT with `replace`).",
    dependencies=[AdminDep],
    responses={
        **ADMIN_ERRORS,
        200: {"description": "Already stored, unchanged (or replaced)"},
        409: {"description": "Stored with other content, or by a folder or a sync source"},
        422: {"description": "A URL refused by the fetch policy, or a page not fetched or read"},
    },
)
async def ingest_url(
    request: URLIngestRequest,
    components: WriteDep,
    settings: SettingsDep,
    response: Response,
) -> UploadResponse:
    doc = await run_in_threadpool(_fetch, settings, request.url)
    stored = await run_in_threadpool(_one_document, components.store, doc.document_id)
    replace = request.replace and stored is not None  # PUT needs a stored document
    result = await run_in_threadpool(_write, components, settings, doc, replace)
    return _created_or_found(result, doc.document_id, components.store.name, response)


@router.put(
    "/documents/{document_id:path}",
    response_model=UploadResponse,
    summary="Replace a document",
    description="The same content as stored is a 200 `unchanged` (nothing embedded). A "
    "document `citechat ingest` stored from a folder becomes an upload: that folder no longer "
    "replaces or prunes it.",
    dependencies=[AdminDep],
    responses={
        **UPLOAD_ERRORS,
        404: {"description": "No such document"},
        409: {"description": "`citechat ingest` stored the document while this was embedded"},
    },
)
async def replace_document(
    document_id: str,
    components: WriteDep,
    settings: SettingsDep,
    file: FileField,
    title: TitleField = "",
    source: SourceField = "",
    published: PublishedField = "",
) -> UploadResponse:
    doc = await _read(settings.file_limits, file, document_id, title, source, published)
    return await run_in_threadpool(_write, components, settings, doc, True)


@router.delete(
    "/documents/{document_id:path}",
    status_code=204,
    summary="Delete a document",
    dependencies=[AdminDep],
    responses={**ADMIN_ERRORS, 404: {"description": "No such document"}},
)
async def delete_document(document_id: str, components: AdminCollectionDep) -> Response:
    document_id = unicodedata.normalize("NFC", document_id)  # as ids are stored
    if not await run_in_threadpool(_delete, components, document_id):
        raise NotFound(f"no document {document_id!r}")
    return Response(status_code=204)


async def _read(
    limits: FileLimits,
    file: UploadFile,
    document_id: str,
    title: str,
    source: str,
    published: str,
) -> LoadedDocument:
    """The upload as a document, or the 4xx saying why it cannot be one."""
    name = file.filename or ""
    if PurePosixPath(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFileType(f"file: {name!r} is not one of {kinds}")
    raw = await file.read(limits.max_bytes + 1)
    if len(raw) > limits.max_bytes:
        raise FileTooLarge(f"file: larger than {limits.max_bytes} bytes (CITECHAT_MAX_FILE_BYTES)")
    try:
        document_id = check_document_id(document_id)
        return await run_in_threadpool(
            read_document,
            raw,
            name,
            document_id,
            limits,
            title=title,
            source=source,
            published=published,
        )
    except LoadError as exc:
        raise InvalidDocument(str(exc)) from exc


def _fetch(settings: Settings, url: str) -> LoadedDocument:
    """The page at ``url`` as a document, or the 422 saying why it cannot be one."""
    hosts = source_hosts(load_sources(settings.sync_sources)) if settings.sync_sources else set()
    try:
        return fetch_document(url, settings.fetch_policy(hosts), settings.file_limits)
    except Refused as exc:
        raise URLRefused(f"url: {exc}") from exc
    except FetchError as exc:
        raise FetchFailed(f"url: {exc}") from exc
    except LoadError as exc:
        raise InvalidDocument(f"url: {exc}") from exc


def _write(
    components: Components,
    settings: Settings,
    doc: LoadedDocument,
    replace: bool,
) -> UploadResponse:
    """Store ``doc``: a new document, the same content again, or (``replace``) a replacement."""
    splitter = settings.splitter()
    retriever = components.retriever
    with components.writes, components.store.connected() as store:
        old = store.document(doc.document_id)
        if replace and old is None:
            raise NotFound(f"no document {doc.document_id!r}: upload it with POST /api/documents")
        if not replace and old is not None and old.origin in (FOLDER, SYNC):
            command = "citechat ingest` from a folder" if old.origin == FOLDER else "citechat sync`"
            raise Conflict(
                f"document {doc.document_id!r} was stored by `{command}: "
                "replace it with PUT /api/documents/{document_id} to make it an upload"
            )
        if not replace and old is not None and not old.is_complete(doc.content_hash):
            raise Conflict(
                f"document {doc.document_id!r} exists with other content: "
                "replace it with PUT /api/documents/{document_id}"
            )
        try:
            written = ingest_document(doc, store, retriever.embedder, splitter)
        except LoadError as exc:
            raise InvalidDocument(str(exc)) from exc
        stored = store.document(doc.document_id)
    if stored is None:  # deleted by another process in between
        raise NotFound(f"no document {doc.document_id!r}")
    retriever.refresh()  # this replica serves its own writes at once
    status: UploadStatus = "new" if written.new else "changed" if written.changed else "unchanged"
    return UploadResponse(
        status=status, chunks_embedded=written.chunks_embedded, document=_info(stored)
    )


def _delete(components: Components, document_id: str) -> bool:
    with components.writes, components.store.connected() as store:
        deleted = delete(store, document_id)
    components.retriever.refresh()  # this replica serves its own writes at once
    return deleted


def _created_or_found(
    result: UploadResponse, document_id: str, collection: str, response: Response
) -> UploadResponse:
    """``result`` answered 201 with a ``Location`` for a new document, else 200."""
    if result.status == "new":
        query = "" if collection == DEFAULT else f"?collection={collection}"
        response.headers["Location"] = f"/api/documents/{quote(document_id)}{query}"
    else:
        response.status_code = 200
    return result


def _one_document(connection: StoreConnection, document_id: str) -> StoredDocument | None:
    with connection.connected() as store:
        return store.document(document_id)


def _info(doc: StoredDocument) -> DocumentInfo:
    return DocumentInfo(
        document_id=doc.document_id,
        title=doc.title,
        source=doc.source,
        published=doc.published,
        chunks=doc.chunks,
    )
