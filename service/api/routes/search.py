import logging
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from service.api.access import RetrieverDep
from service.api.auth import ReaderDep
from service.api.deps import SettingsDep
from service.api.schemas import SearchFilters, SearchResponse, SearchResult
from service.api.validation import check_text

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["search"], dependencies=[ReaderDep])


@router.get(
    "/search",
    response_model=SearchResponse,
    summary="Passages matching a query",
    responses={
        403: {"description": "A collection this key or page origin may not use"},
        404: {"description": "No such collection"},
    },
)
async def search(
    retriever: RetrieverDep,
    settings: SettingsDep,
    q: Annotated[str, Query(description="The query text.")],
    filters: Annotated[SearchFilters, Query()],
    k: Annotated[int, Query(ge=1, le=50, description="How many results.")] = 10,
) -> SearchResponse:
    """The `k` best passages for `q`; with filters (a list repeats its parameter:
    `source_hosts=a.com&source_hosts=b.com`), the `k` best of those they admit."""
    query = check_text("q", q, settings.max_query_chars)
    passages = await run_in_threadpool(retriever.search, query, k, None, filters)
    logger.debug("search: %d passages (k=%d)", len(passages), k)
    return SearchResponse(
        results=[
            SearchResult(
                document_id=p.document_id,
                title=p.title,
                source=p.source,
                published=p.published,
                text=p.text,
                chunk_id=p.chunk_id,
                score=p.score,
            )
            for p in passages
        ]
    )
