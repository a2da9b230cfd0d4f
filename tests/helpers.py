"""Shared test builders: settings, ingestion runs and real servers on free ports."""

import importlib.util
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    PdfObject,
)

from ingestion.embeddings import Embedder
from ingestion.loaders import read_document
from ingestion.pipeline import IngestReport, ingest, ingest_document
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
    return Settings(_env_file=None, **(values | overrides))


def run_ingest(
    settings: Settings,
    embedder: Embedder,
    paths: list[Path],
    prune: bool = False,
    replace: bool = False,
    collection: str = "default",
) -> IngestReport:
    store = open_store(settings, embedder.name, collection)
    splitter = settings.splitter()
    limits = settings.file_limits
    return ingest(paths, store, embedder, splitter, limits=limits, prune=prune, replace=replace)


def run_upload(settings: Settings, embedder: Embedder, name: str, text: str) -> IngestReport:
    """Store ``text`` as an upload named ``name``, as the documents API does."""
    store = open_store(settings, embedder.name)
    doc = read_document(text.encode(), name, name, settings.file_limits)
    splitter = settings.splitter()
    return ingest_document(doc, store, embedder, splitter)


def copy_corpus(target: Path, source: Path = SAMPLE_CORPUS) -> Path:
    shutil.copytree(source, target)
    for path in target.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    url: str, timeout: float = 60.0, process: "subprocess.Popen[str] | None" = None
) -> None:
    """Wait until ``url`` answers below 500 (and ``process``, if given, is still running)."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
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


def client_at(url: str, address: str) -> httpx.Client:
    """A client of ``url`` whose connections come from ``address`` (127.0.0.0/8 on Linux)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=url, transport=transport, timeout=30)


@contextmanager
def serve_process(settings: Settings) -> Iterator[str]:
    """Run ``citechat serve`` in its own process with ``settings``; yield its base URL.

    Its own process, so it has its own Chroma client: what another process writes reaches it
    only through the store, as in production.
    """
    with citechat_serve(settings) as (_, base_url):
        yield base_url


@contextmanager
def citechat_serve(
    settings: Settings, wait_path: str = "/readyz"
) -> Iterator[tuple["subprocess.Popen[str]", str]]:
    """Run ``citechat serve`` with ``settings`` until ``wait_path`` answers; yield the process
    and its base URL. Stopped with SIGTERM at the end unless the test stopped it."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("CITECHAT_")}
    env |= {
        f"CITECHAT_{name.upper()}": json.dumps(value) if isinstance(value, list) else str(value)
        for name, value in settings.model_dump(exclude_unset=True).items()
    }
    citechat = Path(sys.executable).with_name("citechat")
    process = subprocess.Popen(
        [str(citechat), "serve", "--port", str(port)],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base_url}{wait_path}", timeout=300, process=process)  # a busy shared machine
        yield process, base_url
    finally:
        process.terminate()
        try:
            _, errors = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
        if "Traceback" in errors:
            print(errors)  # noqa: T201 - shown by pytest when the test fails


@contextmanager
def tmpfs(path: Path, size: str, options: str = "") -> Iterator[Path]:
    """A tmpfs of ``size`` (``mount`` notation: "6m") mounted at ``path`` (created) with more
    mount ``options``; the test is skipped, saying why, when this process may not mount."""
    if shutil.which("mount") is None:
        pytest.skip("cannot mount a tmpfs: no mount command")
    path.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", ",".join(filter(None, [f"size={size}", options]))]
    mounted = subprocess.run([*command, "tmpfs", str(path)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)


@contextmanager
def chroma_server(path: Path) -> Iterator[tuple[str, int]]:
    """Start ``chroma run`` on a free port; yield ``(host, port)``."""
    with chroma_process(path) as (_, port):
        yield "127.0.0.1", port


@contextmanager
def chroma_process(path: Path) -> Iterator[tuple["subprocess.Popen[bytes]", int]]:
    """Start ``chroma run`` on a free port; yield the process and its port."""
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat")
        yield process, port
    finally:
        process.send_signal(signal.SIGCONT)  # in case a test left it stopped
        process.terminate()
        process.wait(timeout=10)


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF whose text layer is ``text`` (ASCII)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def built_pdf(
    texts: list[str],
    *,
    title: PdfObject | None = None,
    fanout: int = 1,
    depth: int = 0,
    repeat: int = 1,
) -> bytes:
    """A PDF written by pypdf: one page per text (ASCII), ``title`` as its /Info /Title.

    With ``depth`` levels of /Pages nodes each listing the next level ``fanout`` times, the
    page tree reaches every page ``fanout ** depth`` times: a tiny file of very many pages.
    With ``repeat``, each page shows its text that many times, from a compressed stream: a
    small file that takes long and much memory to read.
    """
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for text in texts:
        page = writer.add_blank_page(612, 792)
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 12 Tf 72 720 Td {f'({text}) Tj ' * repeat}ET".encode())
        page[NameObject("/Contents")] = writer._add_object(content.flate_encode())
        fonts = DictionaryObject({NameObject("/F1"): font})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    root = writer.root_object["/Pages"].get_object()
    assert isinstance(root, DictionaryObject)
    kids, count = ArrayObject(page.indirect_reference for page in writer.pages), len(texts)
    for _ in range(depth):
        count *= fanout
        node = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Pages"),
                NameObject("/Kids"): ArrayObject(list(kids) * fanout),
                NameObject("/Count"): NumberObject(count),
            }
        )
        kids = ArrayObject([writer._add_object(node)])
    root[NameObject("/Kids")], root[NameObject("/Count")] = kids, NumberObject(count)
    if title is not None:
        writer.add_metadata({"/Producer": "tests"})
        info = writer._info  # the /Info dictionary itself: metadata gives a copy
        assert info is not None
        info[NameObject("/Title")] = title
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def metric(client: httpx.Client, name: str, **labels: str) -> float:
    """The sum of the samples of ``GET /metrics`` named ``name`` that carry ``labels``."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` as running it does: its folder first on ``sys.path``,
    so its ``import bench`` finds the sibling module."""
    folder = PROJECT_DIR / "benchmarks"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a Server-Sent Events body; each must be well formed."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        assert set(fields) == {"event", "data"}, block
        events.append((fields["event"], json.loads(fields["data"])))
    return events
