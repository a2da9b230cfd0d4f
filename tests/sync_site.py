"""A small news site for the sync tests: a feed, a sitemap index, articles and hostile pages,
served on 127.0.0.1 from a thread (``with Site() as site: site.url("/feed.xml")``).

Pages are ``site.pages[path] = (content type, body)``; the site answers 304 to a matching
``If-None-Match`` where a page has an ETag (all but ``no_etag`` paths). Hostile paths:
``/huge`` (larger than any test cap), ``/slow`` (a byte every 0.2 s), ``/slow-headers`` (a
header every 0.2 s), ``/bomb`` (a gzip bomb),
``/bad-gzip`` (claims gzip, is not), ``/loop-a`` and ``/loop-b`` (redirect to each other) and
``/to-private`` (redirects to 10.0.0.1, which no test may reach).
"""

import functools
import gzip
import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

ROBOTS = "User-agent: *\nDisallow: /private/\n"
HUGE_BYTES = 3 * 1024 * 1024
HOSTILE = {
    path: "_" + path.strip("/").replace("-", "_")
    for path in (
        "/huge",
        "/slow",
        "/slow-headers",
        "/bomb",
        "/bad-gzip",
        "/loop-a",
        "/loop-b",
        "/to-private",
    )
}


def article(title: str, body: str, *, canonical: str = "", published: str = "") -> bytes:
    """An article page as a newsroom's CMS writes it."""
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return (
        f"<html><head><title>{title}</title>{meta}{link}</head><body><nav>Home | World</nav>"
        f"<article><h1>{title}</h1>{paragraphs}</article><footer>(c) Daily</footer></body></html>"
    ).encode()


def rss(links: list[str]) -> tuple[str, bytes]:
    """An RSS 2.0 feed of ``links``, as a page of the site."""
    items = "".join(f"<item><title>{link}</title><link>{link}</link></item>" for link in links)
    body = f"<rss version='2.0'><channel><title>Daily</title>{items}</channel></rss>"
    return "application/rss+xml", body.encode()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: the client hanging up on a hostile page is the point."""


@functools.cache
def gzip_bomb() -> bytes:
    """64 MiB of zeros in about 64 KiB."""
    return gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)


class Site:
    def __init__(self) -> None:
        gzip_bomb()  # made now, not while a client waits for it
        self.pages: dict[str, tuple[str, bytes]] = {"/robots.txt": ("text/plain", ROBOTS.encode())}
        self.no_etag: set[str] = set()
        self.requests: list[str] = []  # paths asked for, in order
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "Site":
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                site.requests.append(self.path)
                hostile = HOSTILE.get(self.path)
                if hostile is not None and self.path not in site.pages:
                    getattr(self, hostile)()
                    return
                if self.path not in site.pages:
                    self._send(404, "text/plain", b"not found")
                    return
                kind, body = site.pages[self.path]
                etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
                if self.path not in site.no_etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                extra = {} if self.path in site.no_etag else {"ETag": etag}
                self._send(200, kind, body, extra)

            def _send(
                self, status: int, kind: str, body: bytes, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _huge(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")  # no length: read until cut off
                self.end_headers()
                block = b"<p>" + b"x" * 65536 + b"</p>"
                for _ in range(HUGE_BYTES // len(block) + 1):
                    self.wfile.write(block)

            def _slow(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                for _ in range(300):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)

            def _slow_headers(self) -> None:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for n in range(300):
                    self.wfile.write(f"X-{n}: 1\r\n".encode())
                    self.wfile.flush()
                    time.sleep(0.2)

            def _bomb(self) -> None:
                self._send(200, "text/html", gzip_bomb(), {"Content-Encoding": "gzip"})

            def _bad_gzip(self) -> None:
                not_gzip = b"this is not gzip" * 100
                self._send(200, "text/html", not_gzip, {"Content-Encoding": "gzip"})

            def _loop_a(self) -> None:
                self._redirect("/loop-b")

            def _loop_b(self) -> None:
                self._redirect(site.url("/loop-a"))

            def _to_private(self) -> None:
                self._redirect(f"http://10.0.0.1:{site.port}/article")

        return Handler
