"""Shared test builders: settings, ingestion runs and real servers on free ports."""

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from ingestion.chunking import build_splitter
from ingestion.embeddings import Embedder
from ingestion.pipeline import IngestReport, ingest
from service.settings import Settings
from service.wiring import open_store

PROJECT_DIR = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = PROJECT_DIR / "examples" / "haiti-mss"


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test: no .env file, index changes seen at once, no rate limits."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "index_refresh_seconds": 0,
        "rate_limit": "off",
        "origin_rate_limit": "off",
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


def run_ingest(
    settings: Settings, embedder: Embedder, paths: list[Path], prune: bool = False
) -> IngestReport:
    store = open_store(settings, embedder.name)
    splitter = build_splitter(settings.chunk_size, settings.chunk_overlap)
    return ingest(paths, store, embedder, splitter, prune=prune)


def copy_corpus(target: Path, source: Path = SAMPLE_CORPUS) -> Path:
    shutil.copytree(source, target)
    for path in target.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not come up in {timeout} s")
        time.sleep(0.2)


@contextmanager
def serve_app(app: FastAPI, **options: Any) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn server in a thread; yield its base URL.

    ``options`` are more uvicorn settings (``service.app.server_options`` gives the served ones).
    """
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base_url}/healthz")
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chroma_server(path: Path) -> Iterator[tuple[str, int]]:
    """Start ``chroma run`` on a free port; yield ``(host, port)``."""
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat")
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=10)


def metric(client: httpx.Client, name: str, **labels: str) -> float:
    """The sum of the samples of ``GET /metrics`` named ``name`` that carry ``labels``."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )
