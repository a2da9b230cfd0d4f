"""The sync sources and each one's last run (docs/sync.md)."""

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from ingestion.sync import load_sources, read_runs
from service.api.auth import ReaderDep
from service.api.deps import SettingsDep
from service.api.schemas import SourceInfo, SourcesResponse, SyncRun
from service.settings import Settings

router = APIRouter(prefix="/api", tags=["sync"])


@router.get(
    "/sources",
    response_model=SourcesResponse,
    summary="The sync sources and their last runs",
    dependencies=[ReaderDep],
    responses={500: {"description": "The sources file cannot be read"}},
)
async def list_sources(settings: SettingsDep) -> SourcesResponse:
    return await run_in_threadpool(_sources, settings)


def _sources(settings: Settings) -> SourcesResponse:
    path = settings.sync_sources
    sources = load_sources(path) if path is not None else []
    runs = read_runs(settings.sync_state_path)
    return SourcesResponse(
        sources=[
            SourceInfo(
                name=s.name,
                kind=s.kind,
                urls=list(s.urls),
                prune=s.prune,
                collection=s.collection,
                last_run=SyncRun.model_validate(runs[s.name]) if s.name in runs else None,
            )
            for s in sources
        ],
        interval_minutes=settings.sync_interval_minutes,
    )
