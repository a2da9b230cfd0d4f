"""The embeddable chat widget (``GET /widget.js``) and a demo page carrying it (``GET /``)."""

import gzip
import hashlib
from functools import lru_cache
from importlib.resources import files

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["widget"])

# Pages embed the script from anywhere: an hour of caching, then a cheap ETag revalidation.
WIDGET_CACHE = "public, max-age=3600"
DEMO_CACHE = "no-cache"


def _static_response(request: Request, name: str, media_type: str, cache: str) -> Response:
    """Serve ``service/static/NAME`` with an ETag, gzipped when the client accepts it (a
    third of the bytes); answer 304 when the client has it already."""
    content = files("service").joinpath("static", name).read_bytes()
    digest = hashlib.sha256(content).hexdigest()[:32]
    headers = {
        "Cache-Control": cache,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Vary": "Accept-Encoding",
    }
    if _accepts_gzip(request.headers.get("accept-encoding", "")):
        content = _gzipped(content)
        headers["Content-Encoding"] = "gzip"
        digest += "-gzip"  # another representation, another strong ETag
    etag = headers["ETag"] = f'"{digest}"'
    known = [
        tag.strip().removeprefix("W/")
        for tag in request.headers.get("if-none-match", "").split(",")
    ]
    if etag in known:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (listed, and not with ``q=0``)."""
    for coding in accept_encoding.lower().split(","):
        name, _, params = coding.partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


@lru_cache(maxsize=8)
def _gzipped(content: bytes) -> bytes:
    return gzip.compress(content, mtime=0)  # mtime 0: the same bytes on every replica


@router.api_route("/widget.js", methods=["GET", "HEAD"], include_in_schema=False)
def widget_script(request: Request) -> Response:
    return _static_response(request, "widget.js", "text/javascript", WIDGET_CACHE)


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
def demo_page(request: Request) -> Response:
    return _static_response(request, "demo.html", "text/html", DEMO_CACHE)
