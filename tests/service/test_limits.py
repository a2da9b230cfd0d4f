"""Rate limits per client and per page origin, and the bound on header size, over real HTTP."""

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingestion.embeddings import Embedder
from service.app import create_app, server_options
from service.settings import Settings
from tests.chat.chat_checks import read_events
from tests.helpers import client_at, make_settings, serve_app
from tests.llm_stub import LLMStub, Reply

SEARCH: dict[str, str | int] = {"q": "Haiti funding", "k": 1}
PAGE = "http://localhost:5173"  # allowed by the default CORS policy


def limited_server(
    sample_settings: Settings, embedder: Embedder, **limits: str
) -> Iterator[httpx.Client]:
    settings = make_settings(sample_settings.data_dir, **limits)
    with serve_app(create_app(settings, embedder=embedder), **server_options(settings)) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client


@pytest.fixture
def per_client(sample_settings: Settings, embedder: Embedder) -> Iterator[httpx.Client]:
    yield from limited_server(
        sample_settings, embedder, rate_limit="3/minute", trusted_proxies="127.0.0.1"
    )


def test_a_client_over_its_limit_gets_a_json_429_with_retry_after(
    per_client: httpx.Client,
) -> None:
    statuses = [per_client.get("/api/search", params=SEARCH).status_code for _ in range(3)]
    refused = per_client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}]})

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["detail"].startswith("too many requests; retry in ")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert per_client.get("/api/documents").status_code == 200  # only the costly routes
    assert per_client.get("/healthz").status_code == 200


def test_the_openai_compatible_route_shares_the_client_budget(per_client: httpx.Client) -> None:
    body = {"model": "citechat", "messages": [{"role": "user", "content": "Haiti funding?"}]}
    for _ in range(3):
        per_client.get("/api/search", params=SEARCH)

    refused = per_client.post("/v1/chat/completions", json=body)

    assert refused.status_code == 429 and "retry-after" in refused.headers
    error = refused.json()["error"]  # OpenAI's error shape under /v1
    assert error["code"] == "rate_limited" and error["type"] == "rate_limit_error"
    assert per_client.get("/v1/models").status_code == 200  # cheap: not limited


def test_clients_behind_a_trusted_proxy_are_told_apart(per_client: httpx.Client) -> None:
    """uvicorn takes the client address from X-Forwarded-For sent by a trusted proxy."""
    for _ in range(3):
        per_client.get("/api/search", params=SEARCH, headers={"X-Forwarded-For": "203.0.113.7"})

    first = per_client.get("/api/search", params=SEARCH, headers={"X-Forwarded-For": "203.0.113.7"})
    other = per_client.get("/api/search", params=SEARCH, headers={"X-Forwarded-For": "203.0.113.8"})

    assert first.status_code == 429 and other.status_code == 200


def test_a_page_origin_has_its_own_budget_and_can_read_the_429(
    sample_settings: Settings, embedder: Embedder
) -> None:
    settings = make_settings(sample_settings.data_dir, origin_rate_limit="2/minute")
    page = {"Origin": PAGE}
    with serve_app(create_app(settings, embedder=embedder), **server_options(settings)) as url:
        allowed = []
        for address in ("127.0.0.2", "127.0.0.3"):  # one request each spends the budget
            with client_at(url, address) as client:
                allowed.append(client.get("/api/search", params=SEARCH, headers=page))
        with client_at(url, "127.0.0.4") as client:
            refused = client.get("/api/search", params=SEARCH, headers=page)
            other_site = client.get(
                "/api/search", params=SEARCH, headers={"Origin": "http://localhost:1"}
            )
            no_page = client.get("/api/search", params=SEARCH)

    assert [r.status_code for r in allowed] == [200, 200]
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert refused.headers["access-control-allow-origin"] == PAGE  # the widget can read it
    assert other_site.status_code == 200 and no_page.status_code == 200


def test_an_oversized_header_is_refused(sample_settings: Settings, embedder: Embedder) -> None:
    settings = make_settings(sample_settings.data_dir)
    app = create_app(settings, embedder=embedder)
    with serve_app(app, **server_options(settings)) as url:
        normal = status_of(f"{url}/healthz", {"X-Note": "x" * 8000})
        huge = status_of(f"{url}/healthz", {"X-Note": "x" * 200_000})

    assert normal == 200
    assert huge in (400, None)


def status_of(url: str, headers: dict[str, str]) -> int | None:
    """The response's status, or None when the server cut the connection first."""
    try:
        return httpx.get(url, headers=headers).status_code
    except httpx.TransportError:
        return None


@pytest.mark.parametrize("value", ["lots", "10/fortnight", "-1/minute"])
def test_a_malformed_rate_limit_is_refused_at_start_up(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        make_settings(tmp_path, rate_limit=value)


def test_a_body_sent_too_slowly_is_408(sample_settings: Settings, embedder: Embedder) -> None:
    """A client trickling its body (slowloris) must not hold the request open."""
    settings = make_settings(sample_settings.data_dir, request_body_timeout=1.0)
    with serve_app(create_app(settings, embedder=embedder)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            head = "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            sock.sendall(f'{head}Content-Length: 100\r\n\r\n{{"messages"'.encode())
            reply = sock.recv(65536).decode()

    status, _, rest = reply.partition("\r\n")
    assert status == "HTTP/1.1 408 Request Timeout"
    assert json.loads(rest.split("\r\n\r\n", 1)[1]) == {
        "code": "request_timeout",
        "detail": "request body not received within 1 s",
    }


def test_the_body_deadline_does_not_cut_a_long_answer_stream(
    sample_settings: Settings, embedder: Embedder, llm_stub: LLMStub
) -> None:
    settings = make_settings(
        sample_settings.data_dir, request_body_timeout=0.5, llm_base_url=llm_stub.url
    )
    llm_stub.script(Reply("Funding stops [1] " + "and goes on " * 10, pace=0.1))
    body = {"messages": [{"role": "user", "content": "Is the US funding it?"}], "stream": True}
    with serve_app(create_app(settings, embedder=embedder)) as url:
        with httpx.stream("POST", f"{url}/api/chat", json=body, timeout=60) as reply:
            events = read_events(reply.iter_lines())

    assert [name for name, _ in events][-2:] == ["citations", "done"]
