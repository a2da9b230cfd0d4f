from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from service.api.deps import ComponentsDep
from service.api.schemas import DocumentInfo, DocumentsResponse

router = APIRouter(prefix="/api", tags=["documents"])


@router.get("/documents", response_model=DocumentsResponse, summary="The stored documents")
async def list_documents(components: ComponentsDep) -> DocumentsResponse:
    stored = await run_in_threadpool(components.retriever.documents)
    return DocumentsResponse(
        documents=[
            DocumentInfo(
                document_id=d.document_id,
                title=d.title,
                source=d.source,
                published=d.published,
                chunks=d.chunks,
            )
            for d in sorted(stored.values(), key=lambda d: d.document_id)
        ]
    )
