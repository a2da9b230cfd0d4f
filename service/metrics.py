"""Prometheus metrics of the service (``GET /metrics``), with the standard client library.

Counters live in the process's default registry: each replica reports its own.
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from service.chat.types import ChatAnswer

REQUEST_SECONDS = Histogram(
    "citechat_request_duration_seconds",
    "Time to answer an HTTP request (a stream: until its last event), by route.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
REQUESTS = Counter(
    "citechat_requests_total", "HTTP requests by route and status.", ["method", "route", "status"]
)
ANSWERS = Counter(
    "citechat_answers_total",
    "Chat answers by mode; answered=false is an abstention.",
    ["mode", "answered"],
)
LLM_FALLBACKS = Counter(
    "citechat_llm_fallbacks_total", "LLM-mode answers that fell back to the extractive answer."
)
LLM_PROMPT_TOKENS = Histogram(
    "citechat_llm_prompt_tokens",
    "Prompt tokens of each LLM request (estimated: about 3.5 characters a token).",
    buckets=(250, 500, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 16000),
)
STORE_ERRORS = Counter(
    "citechat_store_errors_total", "Requests that failed because the vector store was unavailable."
)


def count_answer(answer: ChatAnswer) -> ChatAnswer:
    """Count the answer (by mode, and abstentions); return it."""
    ANSWERS.labels(answer.mode, str(answer.answered).lower()).inc()
    return answer


class SyncCollector(Collector):
    """Each sync source's last run, read at every scrape from the state file `citechat sync`
    writes (whether cron or the server ran it)."""

    OUTCOMES = ("listed", "new", "changed", "unchanged", "failed", "pruned", "chunks_embedded")

    def __init__(self) -> None:
        self.state_path: Path | None = None  # set by the app (service/app.py)

    def collect(self) -> Iterator[Metric]:
        from ingestion.sync import read_runs

        runs = read_runs(self.state_path) if self.state_path is not None else {}
        finished = GaugeMetricFamily(
            "citechat_sync_last_run_timestamp_seconds",
            "When each sync source's last run ended (Unix time).",
            labels=["source"],
        )
        ok = GaugeMetricFamily(
            "citechat_sync_last_run_ok",
            "1 when each sync source's last run read its listing and every page, else 0.",
            labels=["source"],
        )
        pages = GaugeMetricFamily(
            "citechat_sync_last_run_pages",
            "Pages of each sync source's last run by outcome (chunks_embedded: chunks).",
            labels=["source", "outcome"],
        )
        for name, run in runs.items():
            finished.add_metric([name], _timestamp(str(run.get("finished", ""))))
            ok.add_metric([name], 1.0 if run.get("ok") else 0.0)
            for outcome in self.OUTCOMES:
                pages.add_metric([name, outcome], float(run.get(outcome, 0)))
        yield from (finished, ok, pages)


def _timestamp(iso: str) -> float:
    try:
        return dt.datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


SYNC = SyncCollector()
REGISTRY.register(SYNC)
