"""Request ids, access logs and request metrics: one ASGI middleware around the whole app.

Every response carries ``X-Request-ID`` (the client's own when it is a sane token, else a new
one); every log line written while the request is handled carries it too.
"""

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from typing import Literal, TextIO

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import metrics

REQUEST_ID_HEADER = "X-Request-ID"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_logger = logging.getLogger("citechat.access")


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every log record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, log_format: Literal["text", "json"]) -> None:
    """Log in ``log_format``, each line with its request id: the access log to stdout (as
    uvicorn does), the rest to stderr. A no-op when logging is configured already (as under
    pytest)."""
    if logging.getLogger().handlers:
        return
    logging.basicConfig(level=level, handlers=[_handler(sys.stderr, log_format)])
    access_logger.addHandler(_handler(sys.stdout, log_format))
    access_logger.propagate = False


def _handler(stream: TextIO, log_format: Literal["text", "json"]) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        text = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        handler.setFormatter(logging.Formatter(text))
    return handler


class Observe:
    """Give each request an id, then log it and measure it once its response is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        rid = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        start = time.perf_counter()
        status = 500  # unless a response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status, time.perf_counter() - start)
            request_id.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        # The route's template, never the raw path: unknown paths must not add label values.
        path = getattr(route, "path", "unmatched")
        method = scope["method"]
        label = method if method in METHODS else "other"  # clients may send any token
        metrics.REQUEST_SECONDS.labels(label, path).observe(seconds)
        metrics.REQUESTS.labels(label, path, str(status)).inc()
        client = scope.get("client")
        fields = {
            "method": method,
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "client": client[0] if client else None,
        }
        access_logger.info(
            "%s %s %d %.1f ms",
            method,
            scope["path"],
            status,
            seconds * 1000,
            extra={"fields": fields},
        )
