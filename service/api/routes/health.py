from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from service.api.deps import ComponentsDep
from service.api.schemas import Status

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Status, summary="The process is up")
async def healthz() -> Status:
    return Status(status="ok")


@router.get(
    "/readyz",
    response_model=Status,
    summary="The store answers and the model is loaded",
    responses={503: {"description": "The vector store is unreachable"}},
)
async def readyz(components: ComponentsDep) -> Status:
    await run_in_threadpool(components.retriever.ping)
    return Status(status="ready")
