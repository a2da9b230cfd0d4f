"""Prometheus metrics of the service (``GET /metrics``), with the standard client library.

Counters live in the process's default registry: each replica reports its own.
"""

from prometheus_client import Counter, Histogram

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
