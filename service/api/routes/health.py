import asyncio

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from ingestion.store import StoreUnavailable
from service.api.deps import CollectionsDep, SettingsDep
from service.api.schemas import Status

router = APIRouter(tags=["health"])
# /readyz answers 503 after this many store timeouts: reconnecting takes a few calls (Chroma's
# heartbeat, its collection, a count), and an on-disk store's calls have no timeout of their own.
READY_CALLS = 3


@router.get(
    "/healthz",
    response_model=Status,
    response_model_exclude_none=True,
    summary="The process is up",
    description="Liveness: answers without touching the store, also when it fails.",
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
    responses={503: {"description": "The vector store cannot be read, or not in time"}},
)
async def readyz(collections: CollectionsDep, settings: SettingsDep) -> Status:
    # The default collection only: the others are not opened. Built again (in a thread: it
    # waits for its BM25 index) if an admin deleted it.
    retriever = (await run_in_threadpool(collections.get)).retriever
    try:
        seconds = READY_CALLS * settings.store_timeout
        index = await asyncio.wait_for(run_in_threadpool(retriever.status), seconds)
    except TimeoutError as exc:
        where = retriever.store.where
        raise StoreUnavailable(f"vector store at {where} did not answer in time") from exc
    if index.lexical == "loading":
        return Status(status="ready", detail="BM25 index loading: answering from dense vectors")
    return Status(status="ready")
