"""Every error becomes a JSON response here, and only here.

The citechat API answers ``{"code", "detail"}``; the OpenAI-compatible routes under ``/v1``
answer OpenAI's ``{"error": {"message", "type", "param", "code"}}``, with 400 for a bad request
(OpenAI's status) where the citechat API says 422.
"""

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ingestion.errors import AppError
from ingestion.store import StoreUnavailable
from service import metrics

logger = logging.getLogger(__name__)

HTTP_ERROR_CODES = {408: "request_timeout", 413: "request_too_large", 431: "headers_too_large"}
MAX_REPORTED_ERRORS = 10  # of a request's validation errors; the rest are counted
OPENAI_PREFIX = "/v1"
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


def is_openai_path(path: str) -> bool:
    return path == OPENAI_PREFIX or path.startswith(OPENAI_PREFIX + "/")


def openai_error(
    status_code: int, code: str, message: str, param: str | None = None
) -> dict[str, object]:
    """OpenAI's error object, as a body ``{"error": ...}`` or a streamed event carries it."""
    default = "server_error" if status_code >= 500 else "invalid_request_error"
    kind = _OPENAI_TYPES.get(status_code, default)
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(
    status_code: int,
    code: str,
    detail: str,
    *,
    path: str = "",
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    """The error for a request to ``path``: OpenAI's shape under ``/v1``, else the API's."""
    if is_openai_path(path):
        status_code = 400 if status_code == 422 else status_code
        body = openai_error(status_code, code, detail, param)
    else:
        body = {"code": code, "detail": detail, **extra}
    return JSONResponse(body, status_code=status_code, headers=headers)


def _location(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        shown = errors[:MAX_REPORTED_ERRORS]
        detail = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in shown)
        if len(errors) > len(shown):
            detail += f"; and {len(errors) - len(shown)} more errors"
        simple = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in shown]
        param = _location(errors[0]["loc"]) if errors else None
        path = request.url.path
        return error_response(422, "invalid_request", detail, path=path, param=param, errors=simple)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
        return error_response(
            exc.status_code, code, str(exc.detail), path=request.url.path, headers=exc.headers
        )

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        if isinstance(exc, StoreUnavailable):
            metrics.STORE_ERRORS.inc()
        if exc.status_code >= 500:
            logger.warning("%d: %s", exc.status_code, exc)  # the message may name a store's address
        path = request.url.path
        return error_response(
            exc.status_code, exc.code, exc.detail, path=path, param=exc.param, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal server error", path=request.url.path)
