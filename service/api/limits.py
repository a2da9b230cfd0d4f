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
