"""Overhead of the OpenAI-compatible route: ``POST /v1/chat/completions`` against ``/api/chat``.

Both routes answer through the same answerer, so the figure to watch is the ratio of their
latencies, measured in one run: ``citechat serve`` on the sample corpus (extractive mode), the
same questions asked over HTTP on both routes, interleaved (which goes first alternates), as
JSON and streamed (the whole stream read). Target: p50 ratio <= 1.05.

    .venv/bin/python benchmarks/openai_overhead.py [--rounds 3] [--json FILE]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

# benchmarks/ is the script's path
from bench import QUERIES, SAMPLE_CORPUS, free_port, percentile, wait_until_up

TARGET = 1.05


def _api(stream: bool) -> Callable[[httpx.Client, str], bytes]:
    def ask(client: httpx.Client, question: str) -> bytes:
        body = {"messages": [{"role": "user", "content": question}], "stream": stream}
        return _post(client, "/api/chat", body)

    return ask


def _v1(stream: bool) -> Callable[[httpx.Client, str], bytes]:
    def ask(client: httpx.Client, question: str) -> bytes:
        messages = [{"role": "user", "content": question}]
        body = {"model": "citechat", "messages": messages, "stream": stream}
        return _post(client, "/v1/chat/completions", body)

    return ask


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> bytes:
    reply = client.post(path, json=body)
    reply.raise_for_status()
    return reply.content  # the whole body: for a stream, every event


ROUTES = {
    "api_json": _api(stream=False),
    "v1_json": _v1(stream=False),
    "api_stream": _api(stream=True),
    "v1_stream": _v1(stream=True),
}


def measure(base_url: str, questions: list[str], rounds: int) -> dict[str, Any]:
    """Time every route on every question ``rounds`` times, interleaved; p50s and ratios."""
    samples: dict[str, list[float]] = {name: [] for name in ROUTES}
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for ask in ROUTES.values():  # warm-up: caches, connections, the BM25 index
            ask(client, questions[0])
        for round_ in range(rounds):
            for index, question in enumerate(questions):
                names = list(ROUTES) if (index + round_) % 2 == 0 else list(ROUTES)[::-1]
                for name in names:
                    start = time.perf_counter()
                    ROUTES[name](client, question)
                    samples[name].append(time.perf_counter() - start)
    figures: dict[str, Any] = {"requests_per_route": len(questions) * rounds}
    for name, times in samples.items():
        figures[f"{name}_p50_ms"] = statistics.median(times) * 1000
        figures[f"{name}_p95_ms"] = percentile(times, 95) * 1000
    for kind in ("json", "stream"):
        figures[f"{kind}_p50_ratio"] = figures[f"v1_{kind}_p50_ms"] / figures[f"api_{kind}_p50_ms"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="citechat-bench-") as tmp:
        env = os.environ | {
            "CITECHAT_DATA_DIR": str(Path(tmp) / "data"),
            "HF_HUB_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False",
            "CITECHAT_LOG_LEVEL": "WARNING",
            "CITECHAT_RATE_LIMIT": "off",  # the benchmark is one client asking hundreds of times
            "CITECHAT_ORIGIN_RATE_LIMIT": "off",
        }
        citechat = str(Path(sys.executable).with_name("citechat"))
        subprocess.run([citechat, "ingest", str(SAMPLE_CORPUS)], env=env, check=True)
        port = free_port()
        server = subprocess.Popen(  # quiet: its access log would bury the report
            [citechat, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base_url}/readyz", timeout=120)
            figures = measure(base_url, QUERIES, args.rounds)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for kind in ("json", "stream"):
        api, v1 = figures[f"api_{kind}_p50_ms"], figures[f"v1_{kind}_p50_ms"]
        ratio = figures[f"{kind}_p50_ratio"]
        verdict = "ok" if ratio <= TARGET else f"over the {TARGET} target"
        print(  # noqa: T201 - the benchmark's report
            f"{kind:6} p50: /api/chat {api:7.1f} ms, /v1/chat/completions {v1:7.1f} ms, "
            f"ratio {ratio:.3f} ({verdict})"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
