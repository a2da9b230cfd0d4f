"""Scale benchmark: the store, BM25 and serving from 5k to 100k chunks: ``make bench-scale``.

For each size, on disk and on a Chroma server (``chroma run``), one row of figures:
``load_s`` (writing the chunks), ``ready_s`` (an API replica started until ``/readyz`` is 200),
``lexical_s`` (until its BM25 index is loaded too), ``rss_mb`` (the replica's resident memory),
``search_p50_ms``/``search_p95_ms`` (sequential), ``search_p95_ms_concurrent`` (20 clients),
``chat_p95_ms`` (extractive), ``refresh_s`` (one new article written until the running replica
finds it) and ``disk_mb``.

Chunks are generated (seeded) with stand-in embeddings, a hashed bag of words projected to 384
dimensions, computed with numpy and served to the replica by an in-process OpenAI-compatible
``/v1/embeddings`` stub: the figures measure the store, BM25 and serving, not MiniLM (whose
weights a real replica adds to ``rss_mb``; ``make bench`` measures the model).
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from bench import free_port, percentile  # benchmarks/ is the script's path

from ingestion.settings import IndexSettings
from ingestion.store import ChunkStore, open_client

PROJECT_DIR = Path(__file__).resolve().parent.parent
OUTPUT = PROJECT_DIR / "test-output" / "bench-scale.json"
SEED = 20250523
DIM = 384
MODEL = "hashed-bag-of-words-384"
TABLE_ROWS = 1 << 16  # word hashes fold onto this many random vectors
CHUNKS_PER_ARTICLE = 8
WRITE_BATCH = 2000  # under Chroma's largest batch
CLIENTS = 20
REFRESH_SECONDS = 0.5
FIELDS = [
    "mode", "chunks", "load_s", "ready_s", "lexical_s", "rss_mb", "search_p50_ms",
    "search_p95_ms", "chat_p95_ms", "search_p95_ms_concurrent", "refresh_s", "disk_mb",
]  # fmt: skip
TOPICS = (
    "haiti mission funding kenya police gangs port-au-prince security council aid freeze "
    "waiver state department rubio ruto pledge million trust fund displaced humanitarian "
    "election parliament budget court ruling harbour fishermen drought harvest vaccine clinic "
    "school teachers strike railway bridge flood storm energy grid solar tariff exports"
).split()
QUERIES = [
    "haiti mission funding",
    "kenya police officers deployed",
    "security council resolution on gangs",
    "aid freeze waiver state department",
    "flood damage to the railway bridge",
    "teachers strike over the school budget",
    "solar energy grid tariff",
    "vaccine clinic in the drought region",
]


def words_table() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    table = rng.standard_normal((TABLE_ROWS, DIM)).astype(np.float32)
    scaled: np.ndarray = table / np.sqrt(DIM)
    return scaled


class HashedEmbedder:
    """Deterministic stand-in vectors: the normalised sum of each word's random vector."""

    def __init__(self) -> None:
        self._table = words_table()

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            rows = [zlib.crc32(w.encode()) % TABLE_ROWS for w in text.lower().split()]
            if rows:
                vectors[row] = self._table[rows].sum(axis=0)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        normalised: np.ndarray = vectors / np.maximum(norms, 1e-9)
        return normalised


@contextmanager
def embeddings_stub(embedder: HashedEmbedder) -> Iterator[str]:
    """An OpenAI-compatible ``/v1/embeddings`` server in a thread; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            texts = request["input"] if isinstance(request["input"], list) else [request["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": vector.tolist()}
                for i, vector in enumerate(embedder.embed(texts))
            ]
            body = json.dumps({"object": "list", "data": data, "model": MODEL, "usage": {}})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


def article(index: int, rng: random.Random, marker: str = "") -> list[tuple[str, dict[str, Any]]]:
    """One generated article: its chunks' texts and metadata (the index contract's keys)."""
    document_id = f"article-{index:07d}.md"
    topics = rng.sample(TOPICS, 6)
    chunks = []
    for chunk in range(CHUNKS_PER_ARTICLE):
        words = [rng.choice(topics) if rng.random() < 0.3 else rng.choice(TOPICS)]
        words += [f"w{int(rng.paretovariate(1.2)) % 50000}" for _ in range(120)]
        words += [rng.choice(topics) for _ in range(30)] + ([marker] if marker else [])
        rng.shuffle(words)
        text = " ".join(words)
        meta = {
            "document_id": document_id,
            "title": f"Article {index}: {' '.join(topics[:3])}",
            "source": f"https://news.example.org/{index}",
            "published": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "doc_hash": f"{index:016x}",
            "n_chunks": CHUNKS_PER_ARTICLE,
            "chunk_index": chunk,
            "start": chunk * len(text),
            "end": (chunk + 1) * len(text),
        }
        chunks.append((text, meta))
    return chunks


def write_articles(store: ChunkStore, embedder: HashedEmbedder, first: int, count: int) -> None:
    """Write ``count`` generated articles, numbered from ``first``, and publish the change."""
    rng = random.Random(SEED + first)
    pending: list[tuple[str, dict[str, Any]]] = []
    for index in range(first, first + count):
        pending += article(index, rng, marker=f"zq{index}" if count == 1 else "")
        if len(pending) >= WRITE_BATCH or index == first + count - 1:
            texts = [text for text, _ in pending]
            store.upsert(
                ids=[
                    f"{m['document_id']}::{m['doc_hash']}::{m['chunk_index']}" for _, m in pending
                ],
                texts=texts,
                embeddings=embedder.embed(texts).tolist(),
                metadatas=[meta for _, meta in pending],
            )
            pending = []
    store.bump_revision()


@contextmanager
def chroma_server(path: Path) -> Iterator[int]:
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/api/v2/heartbeat") == 200, 60)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def replica(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``citechat serve`` in its own process, logging to ``log``; yields its URL and process."""
    port = free_port()
    citechat = Path(sys.executable).with_name("citechat")
    process = subprocess.Popen(
        [str(citechat), "serve", "--port", str(port)],
        env=env,
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=30)


def ready(base_url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"the replica exited with {process.returncode}: see its log")
    return get(f"{base_url}/readyz") == 200


def get(url: str) -> int:
    try:
        return httpx.get(url, timeout=30).status_code
    except httpx.TransportError:
        return 0


def wait_until(check: Any, timeout: float) -> float:
    """Seconds until ``check()`` holds (polled every 50 ms); raises past ``timeout``."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"not within {timeout} s")
        time.sleep(0.05)
    return time.perf_counter() - started


def timed(client: httpx.Client, method: str, path: str, **request: Any) -> float:
    started = time.perf_counter()
    response = client.request(method, path, **request)
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


def measure_row(
    mode: str, chunks: int, work: Path, embedder: HashedEmbedder, stub: str, rounds: int
) -> dict[str, Any]:
    """One row: load ``chunks`` chunks into a fresh store, start a replica, time it."""
    path = work / f"{mode}-{chunks}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITECHAT_")} | {
        "CITECHAT_DATA_DIR": str(path),
        "CITECHAT_EMBED_BACKEND": "openai",
        "CITECHAT_EMBED_MODEL": MODEL,
        "CITECHAT_EMBED_BASE_URL": stub,
        "CITECHAT_INDEX_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "CITECHAT_LOG_LEVEL": "INFO",
        "CITECHAT_RATE_LIMIT": "off",  # one client measuring, not an abuser
    }
    with chroma_server(path / "server") if mode == "server" else _no_server() as port:
        if port is not None:
            env |= {"CITECHAT_CHROMA_HOST": "127.0.0.1", "CITECHAT_CHROMA_PORT": str(port)}
        settings = IndexSettings(
            store_timeout=600,  # a bulk write of thousands of chunks may take minutes
            _env_file=None,
            data_dir=path,
            chroma_host=env.get("CITECHAT_CHROMA_HOST"),
            chroma_port=port or 8000,
        )
        store = ChunkStore(open_client(settings), "citechat", MODEL)
        started = time.perf_counter()
        write_articles(store, embedder, 0, chunks // CHUNKS_PER_ARTICLE)
        row: dict[str, Any] = {"mode": mode, "chunks": store.collection.count()}
        row["load_s"] = time.perf_counter() - started
        with replica(env, work / f"replica-{mode}-{chunks}.log") as (base_url, process):
            started = time.perf_counter()
            row["ready_s"] = wait_until(lambda: ready(base_url, process), 600)
            row["lexical_s"] = row["ready_s"] + wait_until(
                lambda: "detail" not in httpx.get(f"{base_url}/readyz", timeout=30).json(), 600
            )
            row |= serving_latencies(base_url, rounds)
            row["rss_mb"] = rss_mb(process.pid)
            new = chunks // CHUNKS_PER_ARTICLE + 1
            write_articles(store, embedder, new, 1)
            started = time.perf_counter()
            row["refresh_s"] = wait_until(lambda: found(base_url, new), 120)
        row["disk_mb"] = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20
    return row


@contextmanager
def _no_server() -> Iterator[None]:
    yield None


def found(base_url: str, index: int) -> bool:
    response = httpx.get(f"{base_url}/api/search", params={"q": f"zq{index}", "k": 3}, timeout=30)
    if response.status_code != 200:
        print(f"search failed during the refresh: {response.text}", file=sys.stderr)  # noqa: T201
        return False
    return any(r["document_id"] == f"article-{index:07d}.md" for r in response.json()["results"])


def serving_latencies(base_url: str, rounds: int) -> dict[str, float]:
    queries = QUERIES * rounds
    with httpx.Client(base_url=base_url, timeout=60) as client:
        timed(client, "GET", "/api/search", params={"q": "warm up"})
        search = [timed(client, "GET", "/api/search", params={"q": q, "k": 10}) for q in queries]
        chat = [
            timed(client, "POST", "/api/chat", json={"messages": [{"role": "user", "content": q}]})
            for q in queries
        ]

    def one_client(_: int) -> list[float]:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return [timed(client, "GET", "/api/search", params={"q": q, "k": 10}) for q in queries]

    with ThreadPoolExecutor(CLIENTS) as pool:
        concurrent = [ms for result in pool.map(one_client, range(CLIENTS)) for ms in result]
    return {
        "search_p50_ms": statistics.median(search),
        "search_p95_ms": percentile(search, 95),
        "chat_p95_ms": percentile(chat, 95),
        "search_p95_ms_concurrent": percentile(concurrent, 95),
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def print_table(rows: list[dict[str, Any]]) -> None:
    print(" | ".join(FIELDS))  # noqa: T201
    print(" | ".join("---" for _ in FIELDS))  # noqa: T201
    for row in rows:
        cells = [f"{row[f]:.2f}" if isinstance(row[f], float) else str(row[f]) for f in FIELDS]
        print(" | ".join(cells))  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="5000,25000,100000", help="chunk counts, comma-separated"
    )
    parser.add_argument("--modes", default="disk,server", help="disk, server or both")
    parser.add_argument("--quick", action="store_true", help="sizes 1000,5000 and fewer queries")
    parser.add_argument("--json", type=Path, default=OUTPUT, help="where to write the rows")
    parser.add_argument("--keep", type=Path, help="keep the stores and replica logs here")
    args = parser.parse_args()
    sizes = [1000, 5000] if args.quick else [int(s) for s in args.sizes.split(",")]
    rounds = 1 if args.quick else 3
    embedder = HashedEmbedder()
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="citechat-scale-") as tmp,
        embeddings_stub(embedder) as stub,
    ):
        work = args.keep or Path(tmp)
        for chunks in sizes:
            for mode in args.modes.split(","):
                rows.append(measure_row(mode, chunks, work, embedder, stub, rounds))
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(rows, indent=2) + "\n")  # so far
                print(json.dumps(rows[-1]), file=sys.stderr)  # noqa: T201
    print_table(rows)


if __name__ == "__main__":
    main()
