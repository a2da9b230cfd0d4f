"""Per-client rate limits on the costly routes, with the ``limits`` library.

Each request under a limited path counts against its client's address and, when it comes
from a web page, against that page's ``Origin`` too (the readers of one site share the
origin's budget). One address spends at most 1/``ORIGIN_SHARE`` of an origin's budget: past
that share its requests no longer count against the origin (its own limit still applies), so
it takes ``ORIGIN_SHARE`` busy addresses, not a few, to use a site's budget up (docs/limits.md).
The client's address is the connection's peer unless that peer is a trusted proxy
(``CITECHAT_TRUSTED_PROXIES``, none by default; uvicorn then takes X-Forwarded-For).
Counters live in ``CITECHAT_RATE_LIMIT_STORAGE``: the default ``memory://`` keeps them per
process, so N replicas allow up to N times the limit.
"""

import math
import time

from limits import RateLimitItem
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.errors import error_response
from service.settings import parse_limits

ORIGIN_SHARE = 100  # the fewest client addresses that can use up a page origin's budget


def _share(item: RateLimitItem) -> RateLimitItem:
    """One client's share of the origin limit ``item`` (at least one request per window)."""
    return type(item)(max(1, item.amount // ORIGIN_SHARE), item.multiples)


class RateLimiter:
    """Moving-window limits per client address and per page origin."""

    def __init__(self, per_client: str, per_origin: str, storage_uri: str = "memory://") -> None:
        self._per_client = parse_limits(per_client)
        self._per_origin = [(item, _share(item)) for item in parse_limits(per_origin)]
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def wait(self, client: str, origin: str | None) -> int | None:
        """Count one request; None when it is allowed, else the seconds to wait."""
        for item in self._per_client:
            if not self._limiter.hit(item, "client", client):
                return self._retry_after(item, "client", client)
        if not origin:
            return None
        for item, share in self._per_origin:
            if self._limiter.hit(share, "origin-share", origin, client):
                allowed = self._limiter.hit(item, "origin", origin)
            else:  # past its share: refused only once the origin's budget is spent
                allowed = self._limiter.test(item, "origin", origin)
            if not allowed:
                return self._retry_after(item, "origin", origin)
        return None

    def _retry_after(self, item: RateLimitItem, *keys: str) -> int:
        reset = self._limiter.get_window_stats(item, *keys).reset_time
        return max(1, math.ceil(reset - time.time()))


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
