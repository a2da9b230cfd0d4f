"""The app factory: ``create_app(settings)`` builds the whole HTTP service."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from ingestion.embeddings import Embedder
from service import metrics as service_metrics
from service.api.cors import add_cors
from service.api.errors import register_error_handlers
from service.api.limits import BodyLimits, HeaderLimits, deadline_protocol
from service.api.observe import Observe, configure_logging
from service.api.ratelimit import RateLimit, RateLimiter
from service.api.routes import (
    chat,
    collections,
    completions,
    documents,
    health,
    metrics,
    search,
    sources,
    widget,
)
from service.chat.grammar import grammar
from service.settings import Settings
from service.sync import SyncSchedule
from service.wiring import Collections

# Room for a chat of settings.max_messages turns with long answers; more is a 413.
MAX_BODY_BYTES = 256 * 1024
# An upload's body: the file (at most settings.max_file_bytes) plus its form fields.
UPLOAD_OVERHEAD_BYTES = 64 * 1024
# Seconds a stopping server (SIGTERM) waits for requests in flight before closing them.
SHUTDOWN_SECONDS = 5
# The routes that embed, search and answer: rate limited per client and per page origin.
RATE_LIMITED_PATHS = ("/api/chat", "/api/search", "/v1/chat/")


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options: the h11 parser, which bounds an unfinished request line plus headers
    (httptools does not), with deadlines on receiving requests, the proxies trusted to name the
    client (none unless configured; see docs/limits.md), and a bounded graceful shutdown."""
    return {
        "http": deadline_protocol(settings.request_header_timeout, settings.request_body_timeout),
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies,
        "log_config": None,  # uvicorn's lines go through the app's logging (text or JSON)
        "access_log": False,  # service.api.observe writes the access log, with request ids
        "timeout_graceful_shutdown": SHUTDOWN_SECONDS,
    }


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """Build the app; the embedding model loads at start-up unless ``embedder`` is given."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, object]]:
        served = Collections(settings, embedder)
        grammar()  # the parser (orders in documents, bounds in questions), before the first answer
        served.start()
        schedule = None
        if settings.sync_sources is not None and settings.sync_interval_minutes > 0:
            schedule = SyncSchedule(settings.sync_interval_minutes * 60)
            schedule.start()
        try:
            yield {"collections": served}
        finally:
            if schedule is not None:
                schedule.stop()
            served.stop()

    app = FastAPI(
        title="citechat",
        description="Answers questions about a collection of articles, citing its sources.",
        version="0.1.0",
        lifespan=lifespan,
    )
    uploads = {"/api/documents": settings.max_file_bytes + UPLOAD_OVERHEAD_BYTES}
    app.add_middleware(
        BodyLimits,
        max_bytes=MAX_BODY_BYTES,
        timeout=settings.request_body_timeout,
        larger=uploads,
    )
    app.add_middleware(
        HeaderLimits, max_bytes=settings.max_header_bytes, max_count=settings.max_header_count
    )
    limiter = RateLimiter(
        settings.rate_limit, settings.origin_rate_limit, settings.rate_limit_storage
    )
    app.add_middleware(RateLimit, limiter=limiter, paths=RATE_LIMITED_PATHS)
    add_cors(app, settings.allowed_origins)  # outside the limits: their errors carry CORS headers
    app.add_middleware(Observe)  # outermost: every response gets a request id and is measured
    register_error_handlers(app)
    service_metrics.SYNC.state_path = settings.sync_state_path  # the last runs /metrics reports
    for module in (
        health,
        search,
        documents,
        collections,
        sources,
        chat,
        completions,
        widget,
        metrics,
    ):
        app.include_router(module.router)
    return app
