"""Request ids, Prometheus metrics and JSON access logs, over real HTTP."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingestion.embeddings import Embedder
from service.app import create_app, server_options
from service.settings import Settings
from tests.helpers import free_port, make_settings, metric, serve_app, wait_for
from tests.llm_stub import LLMStub, Reply

QUESTION = {"role": "user", "content": "Is the US still funding the Haiti mission?"}
WEATHER = {"role": "user", "content": "What will the weather be in Port-au-Prince tomorrow?"}


@pytest.fixture(scope="module")
def api(sample_settings: Settings, embedder: Embedder) -> Iterator[httpx.Client]:
    app = create_app(sample_settings, embedder=embedder)
    with serve_app(app, **server_options(sample_settings)) as base_url:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/api/search?q=Haiti"),
        ("GET", "/nowhere"),
        ("POST", "/api/chat"),
    ],
)
def test_every_response_has_a_request_id(api: httpx.Client, method: str, path: str) -> None:
    first = api.request(method, path, json={})
    second = api.request(method, path, json={})

    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids) and ids[0] != ids[1]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("req-42.a:b_c", True), ("x" * 129, False), ("two words", False), ("<script>", False)],
)
def test_a_sane_incoming_request_id_is_kept(api: httpx.Client, sent: str, kept: bool) -> None:
    reply = api.get("/healthz", headers={"X-Request-ID": sent})

    assert (reply.headers["x-request-id"] == sent) is kept


def test_metrics_count_requests_by_route_and_answers_by_mode(api: httpx.Client) -> None:
    route = {"method": "POST", "route": "/api/chat"}
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    before = {
        "requests": metric(api, "citechat_request_duration_seconds_count", **route),
        "answered": metric(api, "citechat_answers_total", mode="extractive", answered="true"),
        "abstained": metric(api, "citechat_answers_total", mode="extractive", answered="false"),
        "unmatched": metric(api, "citechat_requests_total", **unmatched),
    }

    api.post("/api/chat", json={"messages": [QUESTION]})
    api.post("/api/chat", json={"messages": [WEATHER], "stream": True})
    api.get("/nowhere/at/all")
    api.request("BREW", "/nowhere/at/all")

    assert metric(api, "citechat_request_duration_seconds_count", **route) == before["requests"] + 2
    assert metric(api, "citechat_answers_total", mode="extractive", answered="true") == (
        before["answered"] + 1
    )
    assert metric(api, "citechat_answers_total", mode="extractive", answered="false") == (
        before["abstained"] + 1
    )
    assert metric(api, "citechat_requests_total", **unmatched) == (before["unmatched"] + 1)
    assert metric(api, "citechat_requests_total", method="other", route="unmatched") >= 1
    assert metric(api, "citechat_requests_total", method="BREW") == 0  # no label per method
    assert "/metrics" not in api.get("/openapi.json").json()["paths"]


def test_metrics_count_llm_fallbacks_and_store_errors(
    sample_settings: Settings, embedder: Embedder, tmp_path: Path, llm_stub: LLMStub
) -> None:
    llm = make_settings(sample_settings.data_dir, llm_base_url=llm_stub.url, llm_max_retries=0)
    down = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=free_port())
    llm_stub.script(Reply(status=500))
    with serve_app(create_app(llm, embedder=embedder)) as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            fallbacks = metric(client, "citechat_llm_fallbacks_total")
            store_errors = metric(client, "citechat_store_errors_total")
            assert client.post("/api/chat", json={"messages": [QUESTION]}).json()["notice"]
            assert metric(client, "citechat_llm_fallbacks_total") == fallbacks + 1
    with serve_app(create_app(down, embedder=embedder)) as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            assert client.get("/api/search", params={"q": "Haiti"}).status_code == 503
            assert metric(client, "citechat_store_errors_total") == store_errors + 1


def test_citechat_serve_writes_json_access_logs_with_the_request_id(
    sample_settings: Settings, tmp_path: Path
) -> None:
    """The real command: every line JSON, the access line (on stdout) and the app's own lines
    (on stderr) tagged with the request's id."""
    port = free_port()
    env = os.environ | {
        "CITECHAT_DATA_DIR": str(sample_settings.data_dir),
        "CITECHAT_LOG_FORMAT": "json",
        "CITECHAT_LOG_LEVEL": "DEBUG",  # the search route's own line
    }
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    citechat = Path(sys.executable).with_name("citechat")
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(
            [str(citechat), "serve", "--port", str(port)],
            env=env,
            stdout=stdout,
            stderr=stderr,
            cwd=tmp_path,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/healthz", timeout=120)
            reply = httpx.get(
                f"http://127.0.0.1:{port}/api/search",
                params={"q": "Haiti"},
                headers={"X-Request-ID": "trace-7"},
            )
        finally:
            server.terminate()
            server.wait(timeout=30)

    assert reply.status_code == 200
    access = [json.loads(line) for line in out.read_text().splitlines()]  # as uvicorn: stdout
    lines = [json.loads(line) for line in err.read_text().splitlines() if line.strip()]
    assert {line["logger"] for line in access} == {"citechat.access"}
    assert all(line["logger"] != "citechat.access" for line in lines)
    search = next(line for line in access if line["path"] == "/api/search")
    assert search["request_id"] == "trace-7" and search["status"] == 200
    assert search["method"] == "GET" and search["duration_ms"] > 0
    assert any(
        line["request_id"] == "trace-7" and line["logger"].startswith("service.") for line in lines
    ), "the app's own log lines during the request carry its id"
