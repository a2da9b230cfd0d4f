"""LLM mode against a real local model, over HTTP: /api/chat and /v1, streamed and not.

A 135M model's text is not stable, so these tests assert structure, never wording: the mode,
a notice whenever the answer is not the model's, quotes verbatim, every claim's figures and
names held by the passage it cites, well-formed Server-Sent Events, and time bounds.
"""

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import psutil
import pytest

from ingestion.embeddings import Embedder
from service.app import create_app
from service.chat.citations import claims_citing
from service.chat.support import adds_facts, facts_context
from service.settings import Settings
from tests.helpers import serve_app, sse_events
from tests.llm_real.conftest import llm_mode

pytestmark = pytest.mark.llm_real

QUESTION = "Is the US still funding the Haiti mission?"
UNANSWERABLE = "What will the weather be in Port-au-Prince tomorrow?"


def chat(base_url: str, *turns: str, stream: bool = False) -> httpx.Response:
    messages = [{"role": "user", "content": turn} for turn in turns]
    body = {"messages": messages, "stream": stream}
    return httpx.post(f"{base_url}/api/chat", json=body, timeout=180)


def assert_well_formed(answer: str, reply: dict[str, Any], chunk_texts: dict[str, str]) -> None:
    """The answer's mode and notice agree, quotes are verbatim, markers match citations, and
    an LLM answer's claims hold no figure or name their cited chunk lacks."""
    assert reply["mode"] in ("llm", "extractive")
    if reply["mode"] == "extractive":
        assert reply["notice"] and "The language model failed" in reply["notice"]
    markers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer)})
    assert markers == [c["marker"] for c in reply["citations"]]
    for citation in reply["citations"]:
        chunk = chunk_texts[citation["chunk_id"]]
        assert citation["quote"] and citation["quote"] in chunk
        if reply["mode"] == "llm":
            context = facts_context(f"{citation['title']}\n{citation['published']}\n{chunk}")
            claim = claims_citing(answer, citation["marker"])
            assert not adds_facts(claim, [context]), claim


def test_a_chat_answers_with_supported_citations(
    citechat: str, chunk_texts: dict[str, str]
) -> None:
    response = chat(citechat, QUESTION)

    assert response.status_code == 200
    reply = response.json()
    assert reply["answered"] or reply["mode"] == "llm"
    assert_well_formed(reply["answer"], reply, chunk_texts)


def test_a_streamed_chat_is_well_formed_sse(citechat: str, chunk_texts: dict[str, str]) -> None:
    response = chat(citechat, QUESTION, stream=True)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert set(names[:-2]) <= {"delta"} and names[-2:] == ["citations", "done"]
    answer = "".join(data["text"] for name, data in events if name == "delta")
    assert_well_formed(answer, events[-2][1] | events[-1][1], chunk_texts)


def test_a_follow_up_is_answered(citechat: str, chunk_texts: dict[str, str]) -> None:
    messages = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "The US plans to withhold further funding [1]."},
        {"role": "user", "content": "Who said so?"},
    ]

    response = httpx.post(f"{citechat}/api/chat", json={"messages": messages}, timeout=180)

    assert response.status_code == 200
    assert_well_formed(response.json()["answer"], response.json(), chunk_texts)


def test_an_unanswerable_question_is_declined_or_cited(
    citechat: str, chunk_texts: dict[str, str]
) -> None:
    reply = chat(citechat, UNANSWERABLE).json()

    assert_well_formed(reply["answer"], reply, chunk_texts)
    if not reply["answered"]:
        assert reply["citations"] == []


def test_the_openai_api_answers_both_ways(citechat: str, chunk_texts: dict[str, str]) -> None:
    client = openai.OpenAI(base_url=f"{citechat}/v1", api_key="unused", timeout=180)
    question: Any = [{"role": "user", "content": QUESTION}]

    completion: Any = client.chat.completions.create(model="citechat", messages=question)
    chunks: Any = list(
        client.chat.completions.create(model="citechat", messages=question, stream=True)
    )

    reply = completion.citechat
    assert_well_formed(reply["answer"], reply, chunk_texts)
    assert completion.choices[0].message.content.startswith(reply["answer"])
    assert chunks[-1].choices[0].finish_reason == "stop"
    last = chunks[-1].citechat
    assert_well_formed(last["answer"], last, chunk_texts)
    assert "".join(c.choices[0].delta.content or "" for c in chunks).startswith(last["answer"])


# A prompt the model takes seconds to read even on a quiet machine, and a long reply.
LONG = {"llm_prompt_tokens": 1500, "llm_max_tokens": 256}


@pytest.fixture(scope="module")
def hurried(sample_settings: Settings, embedder: Embedder, llama_server: str) -> Iterator[str]:
    """citechat with a deadline of 1 s: less than the model needs to read the prompt."""
    settings = llm_mode(sample_settings, llama_server, llm_deadline=1.0, **LONG)
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        chat(base_url, "Who leads the mission?")  # warm: the first search builds BM25
        yield base_url


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_model_slower_than_the_deadline_is_cut_at_the_deadline(
    hurried: str, llama_server: str, stream: bool
) -> None:
    started = time.monotonic()
    response = chat(hurried, QUESTION, stream=stream)
    elapsed = time.monotonic() - started

    assert elapsed <= 1.0 + 1
    reply = sse_events(response.text)[-1][1] if stream else response.json()
    assert reply["mode"] == "extractive" and "in time" in reply["notice"]
    assert open_requests(llama_server) == 0


def test_a_reader_leaving_cancels_the_models_request(
    sample_settings: Settings, embedder: Embedder, llama_server: str
) -> None:
    settings = llm_mode(sample_settings, llama_server, **LONG)
    body = {"messages": [{"role": "user", "content": QUESTION}], "stream": True}
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        with httpx.Client(timeout=180) as client:
            with client.stream("POST", f"{base_url}/api/chat", json=body) as response:
                assert response.status_code == 200
                wait_until(lambda: open_requests(llama_server) == 1, 30)  # the model reads
        wait_until(lambda: open_requests(llama_server) == 0)


def wait_until(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.05)
    assert condition()


def open_requests(llama_server: str) -> int:
    """This process's open connections to the model server (citechat is served in a thread
    of the test process)."""
    port = int(llama_server.rsplit(":", 1)[1].split("/")[0])
    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )
