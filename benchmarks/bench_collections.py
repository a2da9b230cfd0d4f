"""Collections benchmark: search p95 over many small collections against one large one.

One store on disk holds 20 collections of 1,000 chunks each and one collection of 20,000
chunks (``--collections``, ``--chunks``); one ``citechat serve`` replica serves them all.
Searches alternate between the large collection and the small ones (round robin), so both
see the same machine; the figures are each side's p95 and their ratio (small / large),
written to ``test-output/bench-collections.json``.

Chunks and their vectors are generated as in ``bench_scale.py`` (stand-in embeddings served
by an in-process ``/v1/embeddings`` stub) and written through the store's upsert: the
benchmark measures retrieval (Chroma and BM25 per collection), not the embedding model.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from bench import percentile  # benchmarks/ is the script's path
from bench_scale import (
    CHUNKS_PER_ARTICLE,
    MODEL,
    QUERIES,
    HashedEmbedder,
    embeddings_stub,
    ready,
    replica,
    timed,
    wait_until,
    write_articles,
)

from ingestion.collections import chroma_name
from ingestion.settings import IndexSettings
from ingestion.store import ChunkStore, open_client

PROJECT_DIR = Path(__file__).resolve().parent.parent
OUTPUT = PROJECT_DIR / "test-output" / "bench-collections.json"
LARGE = "large"
WARM_ROUNDS = 3  # queries per collection before measuring: each builds its BM25 on first use


def small_names(count: int) -> list[str]:
    return [f"small-{i:02d}" for i in range(count)]


def load(path: Path, embedder: HashedEmbedder, collections: int, chunks: int) -> None:
    """Write ``collections`` collections of ``chunks`` chunks, and one of both multiplied."""
    settings = IndexSettings(_env_file=None, data_dir=path, store_timeout=600)
    client = open_client(settings)
    sizes = dict.fromkeys(small_names(collections), chunks) | {LARGE: chunks * collections}
    first = 0
    for name, size in sizes.items():
        store = ChunkStore(client, chroma_name(settings.collection, name), MODEL)
        count = size // CHUNKS_PER_ARTICLE
        write_articles(store, embedder, first, count)
        first += count
    client.close()  # type: ignore[attr-defined]  # PersistentClient has it


def measure(base_url: str, collections: int, rounds: int) -> dict[str, Any]:
    """Search p95 of the large collection and of the small ones, queries interleaved."""
    small = small_names(collections)
    with httpx.Client(base_url=base_url, timeout=120) as client:

        def search(collection: str, query: str) -> float:
            params = {"q": query, "k": 10, "collection": collection}
            return timed(client, "GET", "/api/search", params=params)

        for name in [LARGE, *small]:
            params = {"q": QUERIES[0], "collection": name}
            if not client.get("/api/search", params=params).json().get("results"):
                raise RuntimeError(f"collection {name} found nothing: see the replica's log")
        for _ in range(WARM_ROUNDS):
            for name in [LARGE, *small]:
                search(name, "warm up")
        time.sleep(2)  # the last BM25 builds swapped in
        large_ms, small_ms = [], []
        turn = 0
        for _ in range(rounds):
            for query in QUERIES:
                large_ms.append(search(LARGE, query))
                small_ms.append(search(small[turn % len(small)], query))
                turn += 1
    large_p95, small_p95 = percentile(large_ms, 95), percentile(small_ms, 95)
    return {
        "collections": collections,
        "searches_each": len(large_ms),
        "large_p95_ms": large_p95,
        "small_p95_ms": small_p95,
        "ratio": small_p95 / large_p95,
    }


def run(
    work: Path, embedder: HashedEmbedder, stub: str, collections: int, chunks: int, rounds: int
) -> dict[str, Any]:
    path = work / "store"
    load(path, embedder, collections, chunks)
    env = {
        "CITECHAT_DATA_DIR": str(path),
        "CITECHAT_EMBED_BACKEND": "openai",
        "CITECHAT_EMBED_MODEL": MODEL,
        "CITECHAT_EMBED_BASE_URL": stub,
        "CITECHAT_RATE_LIMIT": "off",  # one client measuring, not an abuser
    }
    with replica(_environment(env), work / "replica.log") as (base_url, process):
        wait_until(lambda: ready(base_url, process), 600)
        row = measure(base_url, collections, rounds)
    return {"chunks_small": chunks, "chunks_large": chunks * collections} | row


def _environment(values: dict[str, str]) -> dict[str, str]:
    """This process's environment without its ``CITECHAT_*`` variables, plus ``values``."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CITECHAT_")} | values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", type=int, default=20, help="small collections")
    parser.add_argument("--chunks", type=int, default=1000, help="chunks per small collection")
    parser.add_argument("--rounds", type=int, default=40, help="passes over the queries")
    parser.add_argument("--json", type=Path, default=OUTPUT, help="where to write the figures")
    args = parser.parse_args()
    embedder = HashedEmbedder()
    with (
        tempfile.TemporaryDirectory(prefix="citechat-collections-") as tmp,
        embeddings_stub(embedder) as stub,
    ):
        row = run(Path(tmp), embedder, stub, args.collections, args.chunks, args.rounds)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(row, indent=2) + "\n")
    print(json.dumps(row), file=sys.stderr)  # noqa: T201
    print(  # noqa: T201
        f"search p95: {row['collections']} collections of {row['chunks_small']} chunks "
        f"{row['small_p95_ms']:.1f} ms, one of {row['chunks_large']} chunks "
        f"{row['large_p95_ms']:.1f} ms: ratio {row['ratio']:.2f} (target 1 ± 0.2)"
    )


if __name__ == "__main__":
    main()
