"""Per-client rate limits on the costly routes, with the ``limits`` library.

Each request under a limited path counts against its client's IP address and, when it comes
from a web page, against that page's ``Origin`` too (every reader of one site shares the
origin's budget). Counters live in ``CITECHAT_RATE_LIMIT_STORAGE``: the default
``memory://`` keeps them per process, so N replicas allow up to N times the limit.
"""

import math
import time

from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import error_response
from service.settings import parse_limits


class RateLimiter:
    """Moving-window limits per client address and per page origin."""

    def __init__(self, per_client: str, per_origin: str, storage_uri: str = "memory://") -> None:
        self._per_client = parse_limits(per_client)
        self._per_origin = parse_limits(per_origin)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def wait(self, client: str, origin: str | None) -> int | None:
        """Count one request; None when it is allowed, else the seconds to wait."""
        checks = [(item, "client", client) for item in self._per_client]
        if origin:
            checks += [(item, "origin", origin) for item in self._per_origin]
        for item, kind, key in checks:
            if not self._limiter.hit(item, kind, key):
                reset = self._limiter.get_window_stats(item, kind, key).reset_time
                return max(1, math.ceil(reset - time.time()))
        return None


class RateLimit:
    """ASGI middleware answering 429 ``rate_limited`` with ``Retry-After`` on limited paths.

    Add it inside the CORS middleware, so a page can read the 429.
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter, paths: tuple[str, ...]) -> None:
        self.app = app
        self.limiter = limiter
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.paths):
            client = scope.get("client")
            origin = Headers(scope=scope).get("origin")
            wait = self.limiter.wait(client[0] if client else "unknown", origin)
            if wait is not None:
                detail = f"too many requests; retry in {wait} s"
                headers = {"Retry-After": str(wait)}
                response = error_response(
                    429, "rate_limited", detail, path=scope["path"], headers=headers
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
