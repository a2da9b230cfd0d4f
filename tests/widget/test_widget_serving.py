"""``GET /widget.js``, ``GET /`` and the CORS policy, over HTTP (no browser)."""

import httpx
import pytest
from pydantic import ValidationError

from service.settings import Settings
from tests.helpers import PROJECT_DIR

WIDGET_SOURCE = PROJECT_DIR / "service" / "static" / "widget.js"


def test_widget_script_is_small_cacheable_javascript(site: str) -> None:
    response = httpx.get(f"{site}/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == WIDGET_SOURCE.read_bytes()  # httpx asks for gzip, and unzips
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert response.num_bytes_downloaded < 12_000  # what a page downloads
    plain = httpx.get(f"{site}/widget.js", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == response.content
    assert plain.headers["etag"] != response.headers["etag"]

    etag = response.headers["etag"]
    unchanged = httpx.get(f"{site}/widget.js", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    stale = httpx.get(f"{site}/widget.js", headers={"If-None-Match": '"an-older-version"'})
    assert stale.status_code == 200
    head = httpx.head(f"{site}/widget.js")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag


def test_demo_page_is_an_article_carrying_the_widget_tag(site: str) -> None:
    response = httpx.get(f"{site}/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script src="/widget.js" data-title="Ask our newsroom"' in response.text
    assert "Haiti" in response.text


def test_widget_source_never_parses_text_as_html() -> None:
    source = WIDGET_SOURCE.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:5173", True),
        ("http://localhost", True),
        ("http://127.0.0.1:8080", True),
        ("https://news.example.com", False),
        ("http://localhost.evil.example", False),
        ("http://127.0.0.1.evil.example:8080", False),
        ("https://localhost:5173", False),
    ],
)
def test_default_cors_policy_allows_only_local_pages(site: str, origin: str, allowed: bool) -> None:
    preflight = httpx.options(
        f"{site}/api/search",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    read = httpx.get(
        f"{site}/api/search", params={"q": "Haiti", "k": 1}, headers={"Origin": origin}
    )
    assert read.status_code == 200  # the server answers; the browser decides who may read it
    if allowed:
        assert preflight.status_code == 200
        assert read.headers["access-control-allow-origin"] == origin
    else:
        assert preflight.status_code == 400
        assert preflight.json() == {"code": "cors_refused", "detail": "Disallowed CORS origin"}
        assert "access-control-allow-origin" not in read.headers


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://news.example.com", ["https://news.example.com"]),
        (" https://a.example/ , http://LOCALHOST:* ", ["https://a.example", "http://localhost:*"]),
        ('["https://a.example", "http://[::1]:8000"]', ["https://a.example", "http://[::1]:8000"]),
        ("*", ["*"]),
    ],
)
def test_allowed_origins_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, origins: list[str]
) -> None:
    monkeypatch.setenv("CITECHAT_ALLOWED_ORIGINS", value)
    assert Settings(_env_file=None).allowed_origins == origins


@pytest.mark.parametrize("value", ["news.example.com", "https://a.example/path", "ftp://a.example"])
def test_an_allowed_origin_that_is_not_an_origin_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CITECHAT_ALLOWED_ORIGINS", value)
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(_env_file=None)
