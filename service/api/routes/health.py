from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from service.api.deps import RetrieverDep
from service.api.schemas import Status

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=Status,
    response_model_exclude_none=True,
    summary="The process is up",
)
async def healthz() -> Status:
    return Status(status="ok")


@router.get(
    "/readyz",
    response_model=Status,
    response_model_exclude_none=True,
    summary="The store answers and the model is loaded",
    description="While the BM25 index loads, answers come from dense vectors only: "
    "the status is still `ready`, and `detail` says so.",
    responses={503: {"description": "The vector store is unreachable"}},
)
async def readyz(retriever: RetrieverDep) -> Status:
    index = await run_in_threadpool(retriever.status)
    if index.lexical == "loading":
        return Status(status="ready", detail="BM25 index loading: answering from dense vectors")
    return Status(status="ready")
