"""Limits on what a client sends, whatever its pace: headers (431, 408) and bodies (413, 408).

uvicorn's h11 parser refuses an unfinished request line plus headers over its buffer size
(400), but not headers that arrive complete in one read, and nothing in uvicorn bounds how
slowly they arrive; Starlette's own size limit answers in plain text before the app's error
handlers can see it, and nothing bounds how slowly a client may send its body.
See docs/limits.md.
"""

import asyncio
import time
from typing import Any

import h11
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.api.errors import error_response

# Bytes a header field costs beyond its name and value ("Name: value\r\n"), and a request
# line beyond its method and target (" HTTP/1.1\r\n").
_FIELD_OVERHEAD = 4
_LINE_OVERHEAD = 11


class HeaderLimits:
    """Answer 431 ``headers_too_large`` to a request whose line plus headers exceed
    ``max_bytes`` or whose header fields exceed ``max_count``, however the bytes arrived."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_count: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_count = max_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers: list[tuple[bytes, bytes]] = scope["headers"]
            query: bytes = scope.get("query_string", b"")
            target = len(scope.get("raw_path") or b"") + (len(query) + 1 if query else 0)
            size = len(scope["method"]) + target + _LINE_OVERHEAD
            size += sum(len(name) + len(value) + _FIELD_OVERHEAD for name, value in headers)
            problem = None
            if len(headers) > self.max_count:
                problem = f"more than {self.max_count} header fields"
            elif size > self.max_bytes:
                problem = f"request line plus headers larger than {self.max_bytes} bytes"
            if problem:
                response = error_response(431, "headers_too_large", problem, path=scope["path"])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def deadline_protocol(header_timeout: float, body_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with deadlines on receiving each request.

    A request's line and headers must arrive within ``header_timeout`` seconds of its first
    byte (or of the connection, for its first request): else a 408 and the connection closes.
    A body still arriving after the answer was sent (the app did not read it) may take
    ``body_timeout`` more seconds; a body the app reads is bounded by :class:`BodyLimits`.
    """
    too_slow = error_response(
        408, "request_timeout", f"request headers not received within {header_timeout:g} s"
    )
    timeout_reply = (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(too_slow.body)
        + too_slow.body
    )

    class DeadlineH11Protocol(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._deadline: asyncio.TimerHandle | None = None
            self._waiting_for: object = None  # the client state it is for

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._watch()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._watch()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._watch()

        def _watch(self) -> None:
            """Arm the deadline of the request part the client owes now, if any."""
            state: object = self.conn.their_state
            if state is h11.SEND_BODY and self.conn.our_state is not h11.DONE:
                state = None  # the app is reading the body or answering: BodyLimits' turn
            if state is h11.IDLE and self.timeout_keep_alive_task is not None:
                state = None  # between requests: uvicorn's keep-alive timeout applies
            if state not in (h11.IDLE, h11.SEND_BODY):
                self._disarm()
            elif state is not self._waiting_for:
                self._disarm()
                delay = header_timeout if state is h11.IDLE else body_timeout
                self._deadline = self.loop.call_later(delay, self._expired)
                self._waiting_for = state

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = None
            self._waiting_for = None

        def _expired(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            if self._waiting_for is h11.IDLE:
                self.logger.info("request headers not received in time; connection closed")
                self.transport.write(timeout_reply)
            self.transport.close()

    return DeadlineH11Protocol


class BodyLimits:
    """Reject bodies over ``max_bytes`` (at once when declared, else while they stream in),
    and bodies not received in full within ``timeout`` seconds.

    ``larger`` gives the paths under some prefixes a size limit of their own (file uploads).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout: float,
        larger: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.larger = larger or {}
        self.too_slow = f"request body not received within {timeout:g} s"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = next((n for p, n in self.larger.items() if path.startswith(p)), self.max_bytes)
        detail = f"request body larger than {limit} bytes"
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            response = error_response(413, "request_too_large", detail, path=path)
            await response(scope, receive, send)
            return
        received = 0
        complete = False
        deadline = time.monotonic() + self.timeout

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:  # later reads wait for a disconnect, e.g. while a stream is sent
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), deadline - time.monotonic())
            except TimeoutError:  # FastAPI passes HTTPException on to the handlers
                raise HTTPException(408, self.too_slow) from None
            received += len(message.get("body", b""))
            complete = not message.get("more_body", False)
            if received > limit:
                raise HTTPException(413, detail)
            return message

        await self.app(scope, limited_receive, send)
