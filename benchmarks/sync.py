"""Benchmark `citechat sync`: pages/second of a first sync of a local sitemap and the share of
its time spent embedding, then the seconds of a second, unchanged sync.

The site is a folder of generated articles served by ``http.server`` on 127.0.0.1 (it answers
If-Modified-Since with 304, as most web servers do), listed by a sitemap with <lastmod>.
Targets (issue 23): the first sync costs at most 1.2x its embedding time; an unchanged
500-page sitemap syncs in at most 1 s.

    python benchmarks/sync.py --pages 500 [--out test-output/bench-sync.json]
"""

import argparse
import functools
import json
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ingestion.embeddings import ChunkVectors, Embedder, Span, build_embedder
from ingestion.sync import Source
from service.settings import Settings
from service.sync import run_sync
from service.wiring import open_store

SEED = 20261206
TARGETS = {"cost_over_embedding": 1.2, "unchanged_seconds": 1.0}
WORDS = (
    "harbour council budget market ferry road school police court mayor storm rain bridge "
    "hospital election minister port river farmers fishermen teachers union strike vote"
).split()


class TimedEmbedder:
    """An embedder that adds up the seconds its wrapped model spends embedding chunks."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_chunks(self, texts: list[str], spans: list[list[Span]]) -> list[ChunkVectors]:
        started = time.perf_counter()
        try:
            return self.inner.embed_chunks(texts, spans)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def load(self) -> None:
        self.inner.load()


def write_site(folder: Path, pages: int) -> None:
    """``pages`` dated articles of a few sentences each, and a sitemap listing them."""
    rng = random.Random(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(pages):
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(6)
        ]
        body = "".join(f"<p>{s}</p>" for s in sentences)
        (folder / f"article-{n}.html").write_text(
            f"<html><head><title>Article {n}</title>"
            f'<meta property="article:published_time" content="2026-11-{1 + n % 28:02d}">'
            f"</head><body><article><h1>Article {n}</h1>{body}</article></body></html>"
        )


def write_sitemap(folder: Path, base_url: str, pages: int) -> None:
    urls = "".join(
        f"<url><loc>{base_url}/article-{n}.html</loc><lastmod>2026-11-30</lastmod></url>"
        for n in range(pages)
    )
    (folder / "sitemap.xml").write_text(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{urls}</urlset>"
    )


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def measure(pages: int, workdir: Path, embedder: Embedder | None = None) -> dict[str, Any]:
    """Sync a generated site twice into a fresh index; return the figures."""
    site = workdir / "site"
    write_site(site, pages)
    with serve(site) as base_url:
        write_sitemap(site, base_url, pages)
        settings = Settings(
            _env_file=None,
            data_dir=workdir / "data",
            sync_allowed_networks=["127.0.0.1/32"],
            sync_delay_seconds=0,
            sync_max_pages=pages + 1,
        )
        timed = TimedEmbedder(embedder or build_embedder(settings))
        timed.load()
        store = open_store(settings, timed.name)
        sources = [Source("site", "sitemap", (f"{base_url}/sitemap.xml",))]
        started = time.perf_counter()
        [first] = run_sync(settings, sources, store, timed)
        first_seconds = time.perf_counter() - started
        embed_seconds = timed.seconds
        started = time.perf_counter()
        [second] = run_sync(settings, sources, store, timed)
        second_seconds = time.perf_counter() - started
    return {
        "pages": pages,
        "stored": first.report.new,
        "failed": len(first.report.failed) + len(second.report.failed),
        "chunks_embedded": first.report.chunks_embedded,
        "first_seconds": round(first_seconds, 2),
        "pages_per_second": round(pages / first_seconds, 1),
        "embedding_share": round(embed_seconds / first_seconds, 3),
        "cost_over_embedding": round(first_seconds / embed_seconds, 2) if embed_seconds else None,
        "unchanged_seconds": round(second_seconds, 2),
        "unchanged_embedded": second.report.chunks_embedded,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        result = measure(args.pages, Path(workdir))
    result["targets"] = TARGETS
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)  # noqa: T201 - the benchmark's report


if __name__ == "__main__":
    main()
