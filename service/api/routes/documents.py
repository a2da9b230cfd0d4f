from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from ingestion.pipeline import delete
from ingestion.store import StoredDocument
from service.api.auth import AdminDep, ReaderDep
from service.api.deps import ComponentsDep
from service.api.schemas import DocumentInfo, DocumentsResponse
from service.errors import NotFound

router = APIRouter(prefix="/api", tags=["documents"])
AUTH_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "No API key, or an unknown one"},
    403: {"description": "A read-only key, or no admin keys are configured"},
}


@router.get(
    "/documents",
    response_model=DocumentsResponse,
    summary="The stored documents",
    dependencies=[ReaderDep],
)
async def list_documents(components: ComponentsDep) -> DocumentsResponse:
    with components.retriever.connected() as store:
        stored = await run_in_threadpool(store.documents)
    return DocumentsResponse(
        documents=[_info(d) for d in sorted(stored.values(), key=lambda d: d.document_id)]
    )


@router.get(
    "/documents/{document_id:path}",
    response_model=DocumentInfo,
    summary="One stored document",
    dependencies=[ReaderDep],
    responses={404: {"description": "No such document"}},
)
async def get_document(document_id: str, components: ComponentsDep) -> DocumentInfo:
    with components.retriever.connected() as store:
        stored = await run_in_threadpool(store.document, document_id)
    if stored is None:
        raise NotFound(f"no document {document_id!r}")
    return _info(stored)


@router.delete(
    "/documents/{document_id:path}",
    status_code=204,
    summary="Delete a document",
    dependencies=[AdminDep],
    responses={**AUTH_ERRORS, 404: {"description": "No such document"}},
)
async def delete_document(document_id: str, components: ComponentsDep) -> Response:
    with components.retriever.connected() as store:
        deleted = await run_in_threadpool(delete, store, document_id)
    if not deleted:
        raise NotFound(f"no document {document_id!r}")
    return Response(status_code=204)


def _info(doc: StoredDocument) -> DocumentInfo:
    return DocumentInfo(
        document_id=doc.document_id,
        title=doc.title,
        source=doc.source,
        published=doc.published,
        chunks=doc.chunks,
    )
