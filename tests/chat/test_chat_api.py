"""POST /api/chat over real HTTP: the JSON contract, SSE read with httpx, bad input, store down."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from tests.chat.chat_checks import MAY, read_events
from tests.helpers import free_port, make_settings, serve_app
from tests.llm_stub import LLMStub, Reply

QUESTION = {"role": "user", "content": "Is the US still funding the Haiti mission?"}
CITATION_FIELDS = {
    "marker",
    "document_id",
    "title",
    "source",
    "published",
    "quote",
    "chunk_id",
    "score",
}


@pytest.fixture(scope="module")
def api(sample_settings: Settings, embedder: Embedder) -> Iterator[httpx.Client]:
    with serve_app(create_app(sample_settings, embedder=embedder)) as base_url:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            yield client


@pytest.fixture(scope="module")
def stub() -> Iterator[LLMStub]:
    with LLMStub() as server:
        yield server


@pytest.fixture(scope="module")
def llm_api(sample_settings: Settings, embedder: Embedder, stub: LLMStub) -> Iterator[httpx.Client]:
    settings = make_settings(
        sample_settings.data_dir, llm_base_url=stub.url, llm_timeout=2.0, llm_max_retries=0
    )
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            yield client


def stream(client: httpx.Client, messages: list[dict[str, str]]) -> list[tuple[str, Any]]:
    with client.stream("POST", "/api/chat", json={"messages": messages, "stream": True}) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        return read_events(reply.iter_lines())


def test_the_json_answer_has_exactly_the_contract(api: httpx.Client) -> None:
    reply = api.post("/api/chat", json={"messages": [QUESTION]})

    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"answer", "answered", "citations", "mode", "notice", "retrieved"}
    assert body["answered"] is True and body["mode"] == "extractive" and body["notice"] is None
    assert body["answer"].startswith("As of 23 May 2025:")
    assert all(set(c) == CITATION_FIELDS for c in body["citations"])
    assert body["citations"][0]["document_id"] == MAY
    assert [c["marker"] for c in body["citations"]] == list(range(1, len(body["citations"]) + 1))
    assert all(set(r) == {"document_id", "chunk_id", "score"} for r in body["retrieved"])
    scores = [r["score"] for r in body["retrieved"]]
    assert scores == sorted(scores, reverse=True)


def test_sse_sends_deltas_then_citations_then_done(api: httpx.Client) -> None:
    events = stream(api, [QUESTION])
    plain = api.post("/api/chat", json={"messages": [QUESTION]}).json()

    names = [name for name, _ in events]
    assert names[-2:] == ["citations", "done"]
    assert set(names[:-2]) == {"delta"} and len(names) > 3
    assert "".join(data["text"] for name, data in events if name == "delta") == plain["answer"]
    assert events[-2][1] == {"citations": plain["citations"]}
    assert events[-1][1] == {"answered": True, "mode": "extractive", "notice": None}


def test_an_abstention_streams_too(api: httpx.Client) -> None:
    messages = [{"role": "user", "content": "What will the weather be in Port-au-Prince tomorrow?"}]

    events = stream(api, messages)

    assert events[-2:] == [
        ("citations", {"citations": []}),
        ("done", {"answered": False, "mode": "extractive", "notice": None}),
    ]


def test_llm_answers_stream_as_the_model_writes(llm_api: httpx.Client, stub: LLMStub) -> None:
    claim = "As of 23 May 2025 the US plans to withhold further funding [1] for the mission."
    stub.script(" ".join([claim] * 4))

    events = stream(llm_api, [QUESTION])

    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) == 4  # claim by claim, each once the passage it cites supports it
    assert "".join(deltas) == " ".join([claim] * 4)
    citations = events[-2][1]["citations"]
    assert [c["marker"] for c in citations] == [1]
    assert events[-1] == ("done", {"answered": True, "mode": "llm", "notice": None})


def test_a_stream_breaking_after_text_was_sent_ends_with_an_error(
    llm_api: httpx.Client, stub: LLMStub
) -> None:
    claim = "The US plans to withhold further funding [1]."
    stub.script(Reply(f"{claim} Then more words follow here.", break_after=10))

    events = stream(llm_api, [QUESTION])

    assert [name for name, _ in events][-1] == "error"
    assert "citations" not in [name for name, _ in events]
    assert events[-1][1]["code"] == "llm_failed"
    assert "".join(d["text"] for n, d in events if n == "delta") == claim


@pytest.mark.parametrize(
    "reply",
    [Reply(garbage=True), Reply(status=500), Reply("Uncited claims only.")],
)
def test_a_stream_failing_before_any_text_falls_back(
    llm_api: httpx.Client, stub: LLMStub, reply: Reply
) -> None:
    stub.script(reply)

    events = stream(llm_api, [QUESTION])

    text = "".join(data["text"] for name, data in events if name == "delta")
    assert text.startswith("As of 23 May 2025:")
    done = events[-1]
    assert done[0] == "done" and done[1]["mode"] == "extractive" and done[1]["notice"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"messages": []}, "messages: at least one message (the question) is required"),
        ({"messages": [{"role": "assistant", "content": "Hi"}]}, "the last message must be"),
        ({"messages": [{"role": "user", "content": "   "}]}, "question: must not be empty"),
        (
            {"messages": [{"role": "user", "content": "x" * 2001}]},
            "question: at most 2000 characters allowed, got 2001",
        ),
        ({"messages": [QUESTION] * 21}, "messages: at most 20 messages allowed, got 21"),
        ({"messages": [{"role": "system", "content": "Hi"}]}, "messages.0.role: Input should be"),
        ({"question": "Hi"}, "messages: Field required"),
        ({"messages": [QUESTION], "stream": "maybe"}, "stream: Input should be a valid boolean"),
    ],
)
def test_bad_conversations_are_422_with_a_clear_detail(
    api: httpx.Client, body: dict[str, Any], detail: str
) -> None:
    reply = api.post("/api/chat", json=body)

    assert reply.status_code == 422
    assert reply.json()["code"] == "invalid_request"
    assert detail in reply.json()["detail"]


@pytest.mark.parametrize(
    ("messages", "detail"),
    [
        ('[{"role": "user", "content": "Haiti \\ud800?"}]', "question: invalid character at"),
        (
            '[{"role": "user", "content": "\\udfff"}, {"role": "user", "content": "Haiti?"}]',
            "messages.0.content: invalid character at position 0",
        ),
    ],
)
def test_a_lone_surrogate_is_422_not_500(api: httpx.Client, messages: str, detail: str) -> None:
    """JSON may escape a lone surrogate, which no encoder, model or LLM accepts."""
    body = f'{{"messages": {messages}}}'.encode()

    reply = api.post("/api/chat", content=body, headers={"Content-Type": "application/json"})

    assert reply.status_code == 422
    assert reply.json()["code"] == "invalid_request"
    assert detail in reply.json()["detail"]


def test_a_huge_list_of_messages_is_refused_before_validating_each(api: httpx.Client) -> None:
    """80,000 empty messages: one short error, not 160,000 of them."""
    reply = api.post("/api/chat", json={"messages": [{}] * 80_000})

    assert reply.status_code == 422
    body = reply.json()
    assert body["detail"] == (
        "messages: List should have at most 100 items after validation, not 80000"
    )
    assert len(reply.content) < 1000


def test_the_validation_errors_reported_are_capped(api: httpx.Client) -> None:
    reply = api.post("/api/chat", json={"messages": [{}] * 100})

    assert reply.status_code == 422
    body = reply.json()
    assert len(body["errors"]) == 10
    assert body["detail"].endswith("; and 190 more errors")


def test_an_oversized_body_is_413(api: httpx.Client) -> None:
    messages = [{"role": "assistant", "content": "x" * 30_000}] * 10 + [QUESTION]

    reply = api.post("/api/chat", json={"messages": messages})

    assert reply.status_code == 413
    assert reply.json() == {
        "code": "request_too_large",
        "detail": "request body larger than 262144 bytes",
    }


def test_an_oversized_streamed_body_is_413(api: httpx.Client) -> None:
    """Without a Content-Length the limit applies while the body streams in."""
    body = json.dumps({"messages": [{"role": "user", "content": "x" * 300_000}]}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    reply = api.post("/api/chat", content=chunks(), headers={"Content-Type": "application/json"})

    assert reply.status_code == 413
    assert reply.json()["code"] == "request_too_large"


def test_a_long_but_legal_conversation_is_answered(api: httpx.Client) -> None:
    turns = [{"role": "user", "content": "q" * 2000}, {"role": "assistant", "content": "a" * 3000}]

    reply = api.post("/api/chat", json={"messages": turns * 9 + [QUESTION]})

    assert reply.status_code == 200


def test_the_store_being_down_is_503_not_500(tmp_path: Any, embedder: Embedder) -> None:
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=free_port())
    with serve_app(create_app(settings, embedder=embedder)) as base_url:
        reply = httpx.post(f"{base_url}/api/chat", json={"messages": [QUESTION]}, timeout=60)
        streamed = httpx.post(
            f"{base_url}/api/chat", json={"messages": [QUESTION], "stream": True}, timeout=60
        )

    assert reply.status_code == 503 and reply.json()["code"] == "store_unavailable"
    assert streamed.status_code == 503


def test_the_chat_route_and_its_events_are_documented(api: httpx.Client) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/api/chat"]["post"]

    assert "text/event-stream" in operation["responses"]["200"]["content"]
    for event in ("`delta`", "`citations`", "`done`", "`error`"):
        assert event in operation["description"]
