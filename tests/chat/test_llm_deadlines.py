"""The LLM deadline is a wall-clock deadline, over HTTP, whatever the model server does.

A real uvicorn server answers chats in LLM mode against the stub misbehaving: a non-streamed
body trickled a byte every 0.5 s, a trickled stream, a stream that never ends, huge replies.
Every chat answers within the deadline (+1 s) with the extractive answer and a notice; the
model's request is closed (no work left running on the server) and not retried.
"""

import time
from collections.abc import Iterator

import httpx
import pytest

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from tests.helpers import make_settings, metric, serve_app, sse_events
from tests.llm_stub import LLMStub, Reply

QUESTION = "Is the US still funding the Haiti mission?"
DEADLINE = 3.0
CLAIM = "The US plans to withhold further funding [1]. "

MISBEHAVIOURS = {
    "trickled body": Reply(CLAIM, stream=False, trickle=0.5),
    "trickled stream": Reply(CLAIM, trickle=0.5),
    "endless stream": Reply("and the funding goes on ", endless=True, pace=0.01),
    "huge stream": Reply("funding " * 1000, endless=True, pace=0),
    "huge body": Reply("funding " * 2_000_000, stream=False),
}


@pytest.fixture(scope="module")
def stub() -> Iterator[LLMStub]:
    with LLMStub() as server:
        yield server


@pytest.fixture(scope="module")
def api(sample_settings: Settings, embedder: Embedder, stub: LLMStub) -> Iterator[httpx.Client]:
    """Each wait of the model shorter than the deadline would allow, retries on: only the
    deadline can end these replies."""
    settings = make_settings(
        sample_settings.data_dir,
        llm_base_url=stub.url,
        llm_deadline=DEADLINE,
        llm_first_token_timeout=30.0,
        llm_timeout=30.0,
        llm_max_retries=3,
    )
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            ask = {"messages": [{"role": "user", "content": QUESTION}]}
            client.post("/api/chat", json=ask)  # warm: the first search builds BM25
            yield client


@pytest.mark.parametrize("reply", MISBEHAVIOURS.values(), ids=MISBEHAVIOURS.keys())
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "sse"])
def test_a_misbehaving_model_server_cannot_hold_a_chat_past_its_deadline(
    api: httpx.Client, stub: LLMStub, reply: Reply, streamed: bool
) -> None:
    stub.requests.clear()
    stub.hang_ups.clear()
    stub.script(reply)
    body = {"messages": [{"role": "user", "content": QUESTION}], "stream": streamed}

    started = time.monotonic()
    response = api.post("/api/chat", json=body)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed <= DEADLINE + 1
    if streamed:
        events = sse_events(response.text)
        assert [name for name, _ in events][-2:] == ["citations", "done"]
        done = events[-1][1]
    else:
        done = response.json()
    assert done["mode"] == "extractive" and done["answered"]
    assert isinstance(done["notice"], str) and "The language model failed" in done["notice"]
    assert len([r for r in stub.requests if "messages" in r]) == 1  # no retry after a timeout
    if reply is not MISBEHAVIOURS["huge body"]:  # sent in one write, before the client gave up
        wait_for_hang_up(stub)


def test_a_client_going_away_cancels_the_model_request(
    sample_settings: Settings, embedder: Embedder, stub: LLMStub
) -> None:
    """The model writes supported claims forever; the reader leaves after the first one."""
    settings = make_settings(sample_settings.data_dir, llm_base_url=stub.url, llm_deadline=60)
    stub.hang_ups.clear()
    stub.script(Reply(CLAIM, endless=True, pace=0.05))
    body = {"messages": [{"role": "user", "content": QUESTION}], "stream": True}
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            with client.stream("POST", "/api/chat", json=body) as response:
                lines = response.iter_lines()
                assert next(lines) == "event: delta"
            left = time.monotonic()
            wait_for_hang_up(stub, seconds=5)
        assert stub.hang_ups[0] - left <= 5


def test_prompt_tokens_are_counted_in_the_metrics(api: httpx.Client, stub: LLMStub) -> None:
    before = metric(api, "citechat_llm_prompt_tokens_count")
    tokens_before = metric(api, "citechat_llm_prompt_tokens_sum")
    stub.script(CLAIM)

    api.post("/api/chat", json={"messages": [{"role": "user", "content": QUESTION}]})

    assert metric(api, "citechat_llm_prompt_tokens_count") == before + 1
    assert metric(api, "citechat_llm_prompt_tokens_sum") - tokens_before > 300


def wait_for_hang_up(stub: LLMStub, seconds: float = 1.5) -> None:
    """Wait until the stub saw a client close a reply (its next write failed)."""
    end = time.monotonic() + seconds
    while not stub.hang_ups and time.monotonic() < end:
        time.sleep(0.05)
    assert stub.hang_ups, f"the model's request was still open {seconds} s after the answer"
