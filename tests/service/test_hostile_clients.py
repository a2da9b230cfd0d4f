"""A hostile client against a real uvicorn server on loopback: raw sockets, bounded loops.

Headers are capped however their bytes arrive (one write, many writes, trickled), slow
clients are cut within the documented time, the client address a rate limit counts cannot be
chosen with X-Forwarded-For, and a few addresses cannot use up a site's origin budget.
"""

import json
import logging
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from ingestion.embeddings import Embedder
from service.app import create_app, server_options
from service.settings import Settings
from tests.helpers import client_at, make_settings, serve_app, serve_process

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
MAX_HEADER_BYTES = 16384  # the default
HARD_LIMIT = 20.0  # seconds any one exchange may take, whatever the server does


@dataclass
class Exchange:
    reply: bytes
    seconds: float  # from the first byte sent (or the connection) until the server closed

    @property
    def status(self) -> int | None:
        line = self.reply.split(b"\r\n", 1)[0].split()
        return int(line[1]) if len(line) > 1 else None

    @property
    def body(self) -> dict[str, str]:
        body: dict[str, str] = json.loads(self.reply.split(b"\r\n\r\n", 1)[1])
        return body


@pytest.fixture(scope="module")
def port(sample_settings: Settings, embedder: Embedder) -> Iterator[int]:
    settings = make_settings(
        sample_settings.data_dir,
        request_header_timeout=HEADER_TIMEOUT,
        request_body_timeout=BODY_TIMEOUT,
    )
    with serve_app(create_app(settings, embedder=embedder), **server_options(settings)) as url:
        yield int(url.rsplit(":", 1)[1])


@pytest.fixture(autouse=True)
def no_server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever the client does, the server logs no error (no 500, no traceback)."""
    with caplog.at_level(logging.INFO):
        yield
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []


def exchange(
    port: int, chunks: Iterable[bytes], pause: float = 0.0, *, past_replies: bool = False
) -> Exchange:
    """Send ``chunks`` (``pause`` seconds apart) and read until the server closes.

    Sending stops early when the server closes, or answers (unless ``past_replies``); the
    whole exchange is cut at HARD_LIMIT seconds.
    """
    start = time.monotonic()
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=HARD_LIMIT) as sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                if pause:
                    sock.settimeout(pause)
                    try:
                        data = sock.recv(65536)
                    except TimeoutError:
                        continue
                    reply += data
                    if not data or not past_replies:
                        break
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server closed while we sent: read what it answered
        sock.settimeout(max(0.1, HARD_LIMIT - (time.monotonic() - start)))
        try:
            while data := sock.recv(65536):
                reply += data
        except ConnectionResetError:
            pass
        except TimeoutError:
            pytest.fail(f"the server held the connection for {HARD_LIMIT} s")
    return Exchange(reply, time.monotonic() - start)


def request(*headers: str, path: str = "/healthz") -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: x", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


OVERSIZED = request(*(f"X-Note-{i}: {'x' * 1000}" for i in range(70)))  # the finding's 70 KB


def test_headers_within_the_limits_are_served(port: int) -> None:
    whole = request(*(f"X-Note-{i}: {'x' * 100}" for i in range(50)))  # 5.5 KB, 53 fields

    assert exchange(port, [whole]).status == 200
    assert exchange(port, pieces(whole, 100), pause=0.01).status == 200


def test_oversized_headers_in_one_write_are_431(port: int) -> None:
    answer = exchange(port, [OVERSIZED])

    assert answer.status == 431
    assert answer.body == {
        "code": "headers_too_large",
        "detail": f"request line plus headers larger than {MAX_HEADER_BYTES} bytes",
    }


@pytest.mark.parametrize(("size", "pause"), [(4096, 0.0), (1024, 0.02)])
def test_oversized_headers_sent_in_pieces_are_refused(port: int, size: int, pause: float) -> None:
    answer = exchange(port, pieces(OVERSIZED, size), pause=pause)

    assert answer.status in (400, 431)
    assert answer.seconds < HEADER_TIMEOUT + 1


def test_too_many_header_fields_are_431(port: int) -> None:
    answer = exchange(port, [request(*(f"X-{i}: 1" for i in range(150)))])

    assert answer.status == 431
    assert answer.body["detail"] == "more than 100 header fields"


def test_headers_trickled_under_the_size_cap_are_cut_by_the_header_timeout(port: int) -> None:
    start = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    trickle = [start] + [b"X-Pad: a\r\n"] * 100  # 1 KB in all, over 10 s unless cut

    answer = exchange(port, trickle, pause=0.1)

    assert answer.status == 408
    assert answer.body == {
        "code": "request_timeout",
        "detail": f"request headers not received within {HEADER_TIMEOUT:g} s",
    }
    assert answer.seconds <= HEADER_TIMEOUT + 1


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    answer = exchange(port, [])

    assert answer.status == 408
    assert answer.seconds <= HEADER_TIMEOUT + 1


def test_the_next_request_on_a_kept_alive_connection_has_the_same_deadline(port: int) -> None:
    first = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    trickle = [first, b"G", b"E", b"T"] + [b" "] * 100
    answer = exchange(port, trickle, pause=0.1, past_replies=True)

    replies = answer.reply.split(b"HTTP/1.1 ")
    assert [reply[:3] for reply in replies[1:]] == [b"200", b"408"]
    assert answer.seconds <= HEADER_TIMEOUT + 2


def test_a_body_trickled_after_the_answer_does_not_hold_the_connection(port: int) -> None:
    """The app answers without reading the body; the client keeps trickling it."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"

    answer = exchange(port, [head] + [b"x"] * 200, pause=0.05, past_replies=True)  # 10 s

    assert answer.status == 200
    assert answer.seconds <= BODY_TIMEOUT + 1.5


def test_citechat_serve_applies_the_header_deadline_and_trusts_no_proxy(
    sample_settings: Settings,
) -> None:
    settings = make_settings(
        sample_settings.data_dir, request_header_timeout=HEADER_TIMEOUT, rate_limit="3/minute"
    )
    with serve_process(settings) as url:
        silent = exchange(int(url.rsplit(":", 1)[1]), [])
        with httpx.Client(base_url=url, timeout=30) as client:
            statuses = [
                client.get("/api/search", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                for i in range(4)
            ]

    assert silent.status == 408 and silent.seconds <= HEADER_TIMEOUT + 1
    assert statuses == [422, 422, 422, 429]


def test_rotating_x_forwarded_for_does_not_dodge_the_rate_limit(
    sample_settings: Settings, embedder: Embedder
) -> None:
    """Default limits: no proxy is trusted, so every request counts against 127.0.0.1."""
    settings = make_settings(
        sample_settings.data_dir, rate_limit=Settings().rate_limit, origin_rate_limit="off"
    )
    with serve_app(create_app(settings, embedder=embedder), **server_options(settings)) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            statuses = [
                client.get(
                    "/api/search", headers={"X-Forwarded-For": f"203.0.113.{i % 250}"}
                ).status_code
                for i in range(300)
            ]

    assert statuses.count(429) == 300 - 120  # 422 (no query) until the limit, then 429


SITE = {"Origin": "http://localhost:3000"}


def test_ten_busy_addresses_do_not_lock_a_site_s_readers_out(
    sample_settings: Settings, embedder: Embedder
) -> None:
    """The finding: ten addresses send 120 requests each with one Origin (default limits)."""
    defaults = Settings()
    settings = make_settings(
        sample_settings.data_dir,
        rate_limit=defaults.rate_limit,
        origin_rate_limit=defaults.origin_rate_limit,
    )
    with serve_app(create_app(settings, embedder=embedder), **server_options(settings)) as url:
        for n in range(2, 12):
            with client_at(url, f"127.0.0.{n}") as busy:
                statuses = {busy.get("/api/search", headers=SITE).status_code for _ in range(120)}
                assert statuses == {422}  # within their own limit: answered (no query: 422)
        with client_at(url, "127.0.0.12") as reader:
            answer = reader.get("/api/search", params={"q": "Haiti funding"}, headers=SITE)

    assert answer.status_code == 200


def test_many_addresses_still_use_up_a_site_s_budget(
    sample_settings: Settings, embedder: Embedder
) -> None:
    """The origin limit still holds: 10/minute is used up by ten addresses, one request each,
    and the eleventh address is refused with that site (not without it)."""
    settings = make_settings(sample_settings.data_dir, origin_rate_limit="10/minute")
    with serve_app(create_app(settings, embedder=embedder), **server_options(settings)) as url:
        with client_at(url, "127.0.0.2") as one:  # past its share: never spends the budget
            assert {one.get("/api/search", headers=SITE).status_code for _ in range(20)} == {422}
        for n in range(3, 12):
            with client_at(url, f"127.0.0.{n}") as busy:
                assert busy.get("/api/search", headers=SITE).status_code == 422
        with client_at(url, "127.0.0.12") as reader:
            refused = reader.get("/api/search", headers=SITE)
            elsewhere = reader.get("/api/search")

    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert elsewhere.status_code == 422
