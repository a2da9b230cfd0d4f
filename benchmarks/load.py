"""Load and fault benchmark on loopback: ``make bench-load`` (about 3 to 5 minutes).

The real processes: ``chroma run``, ``citechat serve`` against it (rate limits off), and
``citechat ingest``.

1. Load under ingest: ``--clients`` concurrent clients for ``--duration`` seconds, each asking
   a search (70 %) or a chat (30 %, a third of them streamed), while ``citechat ingest`` adds a
   generated corpus to the collection the API serves. Reported: requests per second, p50/p95
   latency per kind, errors (anything but a complete 200 answer; the target is 0), and the
   API process's RSS before and after.
2. Fault: ``--fault-clients`` clients; the Chroma server is killed (SIGKILL) after 5 s and
   started again on the same port and data 10 s later, the API left running; the clients go
   on for 10 s after the restarted server answers its heartbeat.
   Reported: the answers by status, the seconds from the kill to the first 503 and from the
   restart to the first complete answer of each kind, and errors that are not a 503 JSON.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from bench import (
    QUERIES,
    SAMPLE_CORPUS,
    bench_settings,
    bench_splitter,
    free_port,
    generate_corpus,
    percentile,
    wait_until_up,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOG = PROJECT_DIR / "test-output" / "bench-load-api.log"
BIN = Path(sys.executable).parent
SEARCH_SHARE, STREAM_SHARE = 0.7, 1 / 3
KILL_AT, RESTART_AFTER, RECOVERY_WINDOW = 5.0, 10.0, 10.0  # seconds, in the fault phase
INGEST_GRACE = 600.0  # seconds the ingest may run on after the load phase


@dataclass
class Result:
    """One request: when it started (seconds into its phase), its kind, outcome and latency."""

    start: float
    kind: str  # search | chat | stream
    outcome: str  # "200", another status, or "error: ..." (transport error, cut stream)
    seconds: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--fault-clients", type=int, default=10)
    parser.add_argument("--ingest-chunks", type=int, default=400)
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "test-output" / "bench-load.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="citechat-load-") as tmp:
        work = Path(tmp)
        corpus = work / "generated"
        generate_corpus(corpus, args.ingest_chunks, bench_splitter(bench_settings(work)))
        chroma_port, api_port = free_port(), free_port()
        env = service_env(chroma_port)
        with chroma_server(work / "chroma", chroma_port) as chroma:
            run([BIN / "citechat", "ingest", str(SAMPLE_CORPUS)], env, work)
            with api_server(api_port, env, work) as (api, base_url):
                report = {
                    "load": load_phase(args, base_url, api, corpus, env, work),
                    "fault": asyncio.run(fault_phase(args, base_url, chroma, work)),
                }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print_report(report, args.out)


# --- the processes ---


def service_env(chroma_port: int) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("CITECHAT_")}
    return keep | {
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "CITECHAT_CHROMA_HOST": "127.0.0.1",
        "CITECHAT_CHROMA_PORT": str(chroma_port),
        "CITECHAT_RATE_LIMIT": "off",
        "CITECHAT_ORIGIN_RATE_LIMIT": "off",
        "CITECHAT_LOG_LEVEL": "WARNING",
    }


class Chroma:
    """A ``chroma run`` server that can be killed and started again on the same port and data."""

    def __init__(self, path: Path, port: int) -> None:
        self.path, self.port = path, port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [BIN / "chroma", "run", "--path", self.path, "--host", "127.0.0.1"]
        command += ["--port", str(self.port)]
        self.process = subprocess.Popen(
            [str(part) for part in command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(f"http://127.0.0.1:{self.port}/api/v2/heartbeat")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@contextmanager
def chroma_server(path: Path, port: int) -> Iterator[Chroma]:
    chroma = Chroma(path, port)
    chroma.start()
    try:
        yield chroma
    finally:
        if chroma.process is not None and chroma.process.poll() is None:
            chroma.process.terminate()
            chroma.process.wait(timeout=30)


@contextmanager
def api_server(
    port: int, env: dict[str, str], cwd: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    command = [str(BIN / "citechat"), "serve", "--port", str(port)]
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("w") as log:  # the API's own log, for the causes of errors
        process = subprocess.Popen(command, env=env, cwd=cwd, stderr=log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base_url}/readyz", timeout=180)
        yield process, base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(command: list[Path | str], env: dict[str, str], cwd: Path) -> None:
    subprocess.run([str(c) for c in command], env=env, cwd=cwd, check=True, capture_output=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


# --- the clients ---


async def client(
    http: httpx.AsyncClient, rng: random.Random, t0: float, stop: asyncio.Event
) -> list[Result]:
    results = []
    while not stop.is_set():
        now = time.monotonic()
        query = rng.choice(QUERIES)
        if rng.random() < SEARCH_SHARE:
            kind, request = "search", http.get("/api/search", params={"q": query, "k": 10})
        else:
            stream = rng.random() < STREAM_SHARE
            body = {"messages": [{"role": "user", "content": query}], "stream": stream}
            kind, request = ("stream" if stream else "chat"), http.post("/api/chat", json=body)
        try:
            response = await request
            outcome = str(response.status_code)
            if (
                kind == "stream"
                and response.status_code == 200
                and "event: done" not in response.text
            ):
                outcome = "error: stream without its done event"
        except httpx.HTTPError as exc:
            outcome = f"error: {type(exc).__name__}"
        results.append(Result(now - t0, kind, outcome, time.monotonic() - now))
    return results


async def run_clients(base_url: str, clients: int, seed: int, stop: asyncio.Event) -> list[Result]:
    """``clients`` concurrent clients asking until ``stop`` is set; every request's result."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as http:
        t0 = time.monotonic()
        tasks = [client(http, random.Random(seed + n), t0, stop) for n in range(clients)]
        return [result for results in await asyncio.gather(*tasks) for result in results]


async def for_seconds(base_url: str, clients: int, seconds: float, seed: int) -> list[Result]:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    return await run_clients(base_url, clients, seed, stop)


def load_phase(
    args: argparse.Namespace,
    base_url: str,
    api: subprocess.Popen[bytes],
    corpus: Path,
    env: dict[str, str],
    work: Path,
) -> dict[str, Any]:
    rss_before = rss_mb(api.pid)
    started = time.monotonic()
    ingest = subprocess.Popen(
        [str(BIN / "citechat"), "ingest", str(corpus)],
        env=env,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    results = asyncio.run(for_seconds(base_url, args.clients, args.duration, seed=1))
    during = ingest.poll() is None
    ingest_out, _ = ingest.communicate(timeout=INGEST_GRACE)
    summary = summarise(results, args.duration)
    return summary | {
        "clients": args.clients,
        "ingest": {
            "exit": ingest.returncode,
            "seconds": round(time.monotonic() - started, 1),
            "outlasted_the_load": during,
            "summary": ingest_out.strip().splitlines()[-1] if ingest_out.strip() else "",
        },
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_after": round(rss_mb(api.pid), 1),
    }


async def fault_phase(
    args: argparse.Namespace, base_url: str, chroma: Chroma, work: Path
) -> dict[str, Any]:
    stop = asyncio.Event()
    load = asyncio.create_task(run_clients(base_url, args.fault_clients, seed=2, stop=stop))
    t0 = time.monotonic()
    await asyncio.sleep(KILL_AT)
    chroma.kill()
    killed = time.monotonic() - t0
    await asyncio.sleep(RESTART_AFTER)
    await asyncio.to_thread(chroma.start)  # returns once its heartbeat answers
    restarted = time.monotonic() - t0
    await asyncio.sleep(RECOVERY_WINDOW)
    stop.set()
    results = await load
    timings = fault_timings(results, killed, restarted)
    return summarise(results, time.monotonic() - t0) | timings


# --- the figures ---


def summarise(results: list[Result], seconds: float) -> dict[str, Any]:
    """Requests per second, outcomes, and p50/p95 latency (ms) of the 200s of each kind."""
    by_kind = {}
    for kind in ("search", "chat", "stream"):
        times = sorted(r.seconds * 1000 for r in results if r.kind == kind and r.outcome == "200")
        by_kind[kind] = {
            "ok": len(times),
            "p50_ms": round(percentile(times, 50), 1) if times else None,
            "p95_ms": round(percentile(times, 95), 1) if times else None,
        }
    outcomes = Counter(r.outcome for r in results)
    failed = [r for r in results if r.outcome != "200"]
    return {
        "requests": len(results),
        "requests_per_second": round(len(results) / seconds, 1),
        "outcomes": dict(outcomes),
        "errors": len(failed),
        "first_errors": [asdict(r) for r in failed[:10]],
        "by_kind": by_kind,
    }


def fault_timings(results: list[Result], killed: float, restarted: float) -> dict[str, Any]:
    """When the 503s began after the kill, and when each kind answered again after the restart."""
    first_503 = min(
        (r.start for r in results if r.outcome == "503" and r.start >= killed), default=None
    )
    recovered = {
        kind: min(
            (
                r.start + r.seconds
                for r in results
                if r.kind == kind and r.outcome == "200" and r.start >= restarted
            ),
            default=None,
        )
        for kind in ("search", "chat", "stream")
    }
    return {
        "killed_at_s": round(killed, 1),
        "restarted_at_s": round(restarted, 1),
        "first_503_after_kill_s": None if first_503 is None else round(first_503 - killed, 2),
        "recovered_after_restart_s": {
            kind: None if at is None else round(at - restarted, 2) for kind, at in recovered.items()
        },
        "errors_not_503": sum(1 for r in results if r.outcome not in ("200", "503")),
    }


def print_report(report: dict[str, Any], out: Path) -> None:
    load, fault = report["load"], report["fault"]
    lines = [
        f"\n## Load: {load['clients']} clients, search and chat, while an ingest runs\n",
        "| kind | answered | p50 ms | p95 ms |",
        "| --- | --- | --- | --- |",
    ]
    for kind, figures in load["by_kind"].items():
        lines.append(f"| {kind} | {figures['ok']} | {figures['p50_ms']} | {figures['p95_ms']} |")
    ingest = load["ingest"]
    lines += [
        f"\nrequests/s {load['requests_per_second']}, requests {load['requests']}, "
        f"errors {load['errors']} {load['outcomes']}; "
        f"RSS {load['rss_mb_before']} -> {load['rss_mb_after']} MB; "
        f"ingest: exit {ingest['exit']} in {ingest['seconds']} s ({ingest['summary']})",
        "\n## Fault: Chroma server killed, then restarted, the API left running\n",
        f"killed at {fault['killed_at_s']} s, restarted at {fault['restarted_at_s']} s; "
        f"outcomes {fault['outcomes']}; first 503 {fault['first_503_after_kill_s']} s after "
        f"the kill; answering again after the restart: {fault['recovered_after_restart_s']} s; "
        f"errors other than 503: {fault['errors_not_503']}",
        f"\nJSON report: {out}",
    ]
    print("\n".join(lines))  # noqa: T201 - a script's report


if __name__ == "__main__":
    main()
