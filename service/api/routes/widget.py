"""The embeddable chat widget (``GET /widget.js``) and a demo page carrying it (``GET /``)."""

import hashlib
from importlib.resources import files

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["widget"])

# Pages embed the script from anywhere: an hour of caching, then a cheap ETag revalidation.
WIDGET_CACHE = "public, max-age=3600"
DEMO_CACHE = "no-cache"


def _static_response(request: Request, name: str, media_type: str, cache: str) -> Response:
    """Serve ``service/static/NAME`` with an ETag; answer 304 when the client has it already."""
    content = files("service").joinpath("static", name).read_bytes()
    etag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    headers = {
        "ETag": etag,
        "Cache-Control": cache,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    known = [
        tag.strip().removeprefix("W/")
        for tag in request.headers.get("if-none-match", "").split(",")
    ]
    if etag in known:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)


@router.api_route("/widget.js", methods=["GET", "HEAD"], include_in_schema=False)
def widget_script(request: Request) -> Response:
    return _static_response(request, "widget.js", "text/javascript", WIDGET_CACHE)


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
def demo_page(request: Request) -> Response:
    return _static_response(request, "demo.html", "text/html", DEMO_CACHE)
