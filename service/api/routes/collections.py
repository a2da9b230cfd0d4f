"""The collections (docs/collections.md): listing them, and deleting one (admin)."""

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from ingestion.collections import check_name
from service.api.access import AccessDep
from service.api.auth import ADMIN_ERRORS, AdminDep, ReaderDep
from service.api.deps import CollectionsDep
from service.api.schemas import CollectionsResponse

router = APIRouter(prefix="/api", tags=["collections"])


@router.get(
    "/collections",
    response_model=CollectionsResponse,
    summary="The collections the caller may use",
    dependencies=[ReaderDep],
)
async def list_collections(collections: CollectionsDep, access: AccessDep) -> CollectionsResponse:
    names = await run_in_threadpool(collections.names)
    return CollectionsResponse(collections=[name for name in names if access.permits(name)])


@router.delete(
    "/collections/{name}",
    status_code=204,
    summary="Delete a collection and all its documents",
    description="Admin keys only. `default` may be deleted too: it is then empty.",
    dependencies=[AdminDep],
    responses={
        **ADMIN_ERRORS,
        404: {"description": "No such collection"},
        422: {"description": "Not a collection name"},
    },
)
async def delete_collection(name: str, collections: CollectionsDep) -> Response:
    await run_in_threadpool(collections.delete, check_name(name))
    return Response(status_code=204)
