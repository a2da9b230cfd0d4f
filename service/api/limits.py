"""Request-body limits whose errors are the API's usual JSON: size (413) and time (408).

Starlette's own size limit answers in plain text before the app's error handlers can see it,
and nothing bounds how slowly a client may send its body.
"""

import asyncio
import time

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import error_response


class BodyLimits:
    """Reject bodies over ``max_bytes`` (at once when declared, else while they stream in),
    and bodies not received in full within ``timeout`` seconds."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.too_large = f"request body larger than {max_bytes} bytes"
        self.too_slow = f"request body not received within {timeout:g} s"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(413, "request_too_large", self.too_large, path=scope["path"])
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
            if received > self.max_bytes:
                raise HTTPException(413, self.too_large)
            return message

        await self.app(scope, limited_receive, send)
