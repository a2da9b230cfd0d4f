"""Every error becomes a JSON response ``{"code", "detail"}`` here, and only here."""

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ingestion.store import EmbeddingModelMismatch, StoreUnavailable
from service import metrics
from service.errors import AppError

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 10  # of a request's validation errors; the rest are counted


def error_response(
    status_code: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    """The API's error body ``{"code", "detail"}`` (plus ``extra`` fields)."""
    body = {"code": code, "detail": detail, **extra}
    return JSONResponse(body, status_code=status_code, headers=headers)


def _location(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        shown = errors[:MAX_REPORTED_ERRORS]
        detail = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in shown)
        if len(errors) > len(shown):
            detail += f"; and {len(errors) - len(shown)} more errors"
        simple = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in shown]
        return error_response(422, "invalid_request", detail, errors=simple)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = "request_too_large" if exc.status_code == 413 else "http_error"
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.detail, headers=exc.headers)

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(_: Request, exc: StoreUnavailable) -> JSONResponse:
        metrics.STORE_ERRORS.inc()
        return error_response(503, "store_unavailable", str(exc))

    @app.exception_handler(EmbeddingModelMismatch)
    async def model_mismatch(_: Request, exc: EmbeddingModelMismatch) -> JSONResponse:
        return error_response(503, "index_mismatch", str(exc))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal server error")
