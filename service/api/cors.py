"""Which web pages may call the API from a browser (CORS).

Entries of ``CITECHAT_ALLOWED_ORIGINS`` are origins (``https://news.example.com``), an origin
with ``:*`` for any port (``http://localhost:*``), or ``*`` for every origin. The service's own
pages (the demo page, a page served from the same origin) need no entry: same-origin requests
are not subject to CORS.
"""

import re

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import Headers
from starlette.responses import Response

from service.api.errors import error_response

ANY_PORT = ":*"


def origin_regex(origins: list[str]) -> str | None:
    """A regex matching the ``:*`` entries on any port (or none), or None when there are none."""
    hosts = [re.escape(o.removesuffix(ANY_PORT)) for o in origins if o.endswith(ANY_PORT)]
    return f"(?:{'|'.join(hosts)})(?::[0-9]+)?" if hosts else None


class JSONCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, refusing a pre-flight with the API's JSON error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        detail = bytes(response.body).decode()  # e.g. "Disallowed CORS origin"
        return error_response(400, "cors_refused", detail, headers={"Vary": "Origin"})


def add_cors(app: FastAPI, origins: list[str]) -> None:
    """Let pages on ``origins`` call the API; browsers keep responses from every other page."""
    app.add_middleware(
        JSONCORSMiddleware,
        allow_origins=[o for o in origins if not o.endswith(ANY_PORT)],
        allow_origin_regex=origin_regex(origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        # The widget tells readers how long to wait; a request id helps report a problem.
        expose_headers=["Retry-After", "X-Request-ID"],
        max_age=600,
    )
