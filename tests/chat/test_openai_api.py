"""The OpenAI-compatible API (/v1) driven by the real ``openai`` client over real HTTP."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionUserMessageParam

from ingestion.embeddings import Embedder
from service.api.routes.completions import sources_footer
from service.app import create_app
from service.chat.types import ChatAnswer, Citation
from service.settings import Settings
from tests.chat.chat_checks import MAY
from tests.helpers import free_port, make_settings, metric, serve_app
from tests.llm_stub import LLMStub, Reply

QUESTION = "Is the US still funding the Haiti mission?"
UNANSWERABLE = "What will the weather be in Port-au-Prince tomorrow?"
OPENAI_ERROR_FIELDS = {"message", "type", "param", "code"}


def client_for(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def base_url(sample_settings: Settings, embedder: Embedder) -> Iterator[str]:
    with serve_app(create_app(sample_settings, embedder=embedder)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> openai.OpenAI:
    return client_for(base_url)


@pytest.fixture(scope="module")
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def stub() -> Iterator[LLMStub]:
    with LLMStub() as server:
        yield server


@pytest.fixture(scope="module")
def llm_client(sample_settings: Settings, embedder: Embedder, stub: LLMStub) -> Iterator[Any]:
    settings = make_settings(
        sample_settings.data_dir, llm_base_url=stub.url, llm_timeout=2.0, llm_max_retries=0
    )
    with serve_app(create_app(settings, embedder=embedder)) as url:
        yield client_for(url)


def user(content: Any) -> ChatCompletionUserMessageParam:
    return {"role": "user", "content": content}


def error_body(error: openai.APIStatusError) -> dict[str, Any]:
    """The error object of an API error's response."""
    assert isinstance(error.body, dict)
    return error.body


def ask(client: openai.OpenAI, *messages: ChatCompletionMessageParam, **params: Any) -> Any:
    return client.chat.completions.create(model="citechat", messages=messages, **params)


def ask_streaming(client: openai.OpenAI, *messages: ChatCompletionMessageParam) -> list[Any]:
    return list(ask(client, *messages, stream=True))


def streamed_text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks)


def test_the_one_model_is_listed(client: openai.OpenAI) -> None:
    assert [model.id for model in client.models.list()] == ["citechat"]
    assert client.models.retrieve("citechat").owned_by == "citechat"
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("gpt-4o")
    assert raised.value.code == "model_not_found"


def test_a_completion_is_the_chat_answer_with_a_sources_list(
    client: openai.OpenAI, api: httpx.Client
) -> None:
    completion = ask(client, user(QUESTION))
    plain = api.post("/api/chat", json={"messages": [user(QUESTION)]}).json()

    assert completion.object == "chat.completion" and completion.model == "citechat"
    assert completion.id.startswith("chatcmpl-")
    [choice] = completion.choices
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    answer, sources = choice.message.content.split("\n\n---\n\n**Sources**\n\n")
    assert answer == plain["answer"] and "[1]" in answer
    lines = sources.split("\n")
    assert len(lines) == len(plain["citations"]) > 1
    first = plain["citations"][0]
    assert first["document_id"] == MAY
    assert lines[0] == f"1. [{first['title']}](<{first['source']}>), 23 May 2025"
    documents = [c["document_id"] for c in plain["citations"]]
    for number, document in enumerate(documents, start=1):
        first_marker = documents.index(document) + 1
        if first_marker < number:
            assert lines[number - 1] == f"{number}. Same source as {first_marker}"
    assert sum("](<https://" in line for line in lines) == len(set(documents))
    assert completion.citechat == plain  # the extension field: the /api/chat reply


def test_sources_are_escaped_and_only_http_sources_become_links() -> None:
    def cite(marker: int, title: str, source: str, published: str = "") -> Citation:
        return Citation(marker, f"doc{marker}.md", title, source, published, "q", "c", 0.5)

    answer = ChatAnswer(
        answer="A [1] B [2] C [3].",
        answered=True,
        citations=[
            cite(1, "Gangs *rule* [sic]", "javascript:alert(1)", "2025-05-23"),
            cite(2, "", "https://example.com/a b>c"),
            cite(3, "Plain", ""),
        ],
        mode="extractive",
    )

    assert sources_footer(answer).split("\n")[-3:] == [
        "1. Gangs \\*rule\\* \\[sic\\] (javascript:alert(1)), 23 May 2025",
        "2. [doc2.md](<https://example.com/a%20b%3Ec>), undated",
        "3. Plain, undated",
    ]


def test_a_stream_sends_chunks_then_the_citations_then_done(
    client: openai.OpenAI, base_url: str
) -> None:
    chunks = ask_streaming(client, user(QUESTION))
    whole = ask(client, user(QUESTION))

    assert all(c.object == "chat.completion.chunk" and c.model == "citechat" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len(chunks) > 4  # the answer comes in pieces
    assert streamed_text(chunks) == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and not last.choices[0].delta.content
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert last.citechat["citations"] == whole.citechat["citations"]
    assert last.citechat["answer"] == whole.citechat["answer"]
    body = {"model": "citechat", "messages": [user(QUESTION)], "stream": True}
    raw = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=60)
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.rstrip().endswith("data: [DONE]")


def test_a_multi_turn_conversation_answers_the_follow_up(
    client: openai.OpenAI, api: httpx.Client
) -> None:
    first = ask(client, user("How much did the US offer for the Kenya-led mission in 2023?"))
    history: list[ChatCompletionMessageParam] = [
        user("How much did the US offer for the Kenya-led mission in 2023?"),
        {"role": "assistant", "content": first.choices[0].message.content},
        user("Who announced it?"),
    ]

    follow_up = ask(client, {"role": "system", "content": "Answer like a pirate."}, *history)

    plain_history = [*history[:1], {"role": "assistant", "content": first.citechat["answer"]}]
    plain = api.post("/api/chat", json={"messages": [*plain_history, history[-1]]}).json()
    assert follow_up.citechat == plain  # the system message and the earlier Sources list: unused
    assert follow_up.citechat["answered"] and "Blinken" in follow_up.citechat["answer"]


def test_v1_answers_are_counted_in_the_metrics(client: openai.OpenAI, api: httpx.Client) -> None:
    labels = {"mode": "extractive", "answered": "true"}
    before = metric(api, "citechat_answers_total", **labels)

    ask(client, user(QUESTION))
    ask_streaming(client, user(QUESTION))

    assert metric(api, "citechat_answers_total", **labels) == before + 2


def test_content_may_be_a_list_of_text_parts(client: openai.OpenAI) -> None:
    parts = [{"type": "text", "text": "Is the US still funding"}, {"type": "text", "text": "it?"}]
    as_parts = ask(client, user([{"type": "text", "text": "About the Haiti mission."}, *parts]))
    as_text = ask(client, user("About the Haiti mission.\nIs the US still funding\nit?"))

    assert as_parts.choices[0].message.content == as_text.choices[0].message.content


def test_an_abstention_has_no_sources(client: openai.OpenAI) -> None:
    completion = ask(client, user(UNANSWERABLE))
    chunks = ask_streaming(client, user(UNANSWERABLE))

    text = completion.choices[0].message.content
    assert "**Sources**" not in text and text == completion.citechat["answer"]
    assert completion.citechat["answered"] is False and completion.citechat["citations"] == []
    assert streamed_text(chunks) == text
    assert chunks[-1].citechat["answered"] is False


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"messages": []}, None, "at least one message"),
        ({"messages": [{"role": "assistant", "content": "Hi"}]}, None, "the last message must"),
        ({"messages": [{"role": "system", "content": "Hi"}]}, None, "at least one message"),
        ({"messages": [user("   ")]}, None, "question: must not be empty"),
        ({"n": 2}, "n", "n must be 1"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools", "no tools"),
        ({"response_format": {"type": "json_object"}}, "response_format", "only text"),
        ({"logprobs": True}, "logprobs", "not available"),
        (
            {"messages": [user([{"type": "image_url", "image_url": {"url": "http://x/y.png"}}])]},
            "messages.0.content",
            "only text parts, got 'image_url'",
        ),
        (
            {"messages": [{"role": "tool", "content": "42", "tool_call_id": "a"}, user("Hi")]},
            "messages.0.role",
            "no tools",
        ),
        ({"messages": [{"role": "robot", "content": "Hi"}]}, "messages.0.role", "Input should"),
        ({"messages": [user("Hi")] * 101}, "messages", "at most 100 items"),
        ({"messages": [user("Hi")] * 21}, None, "at most 20 messages allowed, got 21"),
    ],
)
def test_bad_requests_are_openai_400s(
    client: openai.OpenAI, params: dict[str, Any], param: str | None, message: str
) -> None:
    request = {"model": "citechat", "messages": [user(QUESTION)]} | params

    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**request)

    error = raised.value.body
    assert isinstance(error, dict) and set(error) == OPENAI_ERROR_FIELDS
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert message in error["message"]


def test_ignored_parameters_change_nothing(client: openai.OpenAI) -> None:
    plain = ask(client, user(QUESTION))
    tuned = ask(
        client,
        user(QUESTION),
        temperature=1.5,
        max_tokens=5,
        stop=["."],
        seed=3,
        user="someone",
        extra_body={"top_k": 40, "unknown_option": True},
    )

    assert tuned.choices[0].message.content == plain.choices[0].message.content


def test_null_parameters_mean_their_defaults(api: httpx.Client) -> None:
    nulls = dict.fromkeys(["stream", "n", "tools", "functions", "response_format", "logprobs"])
    body = {"model": "citechat", "messages": [user(QUESTION)], **nulls}

    reply = api.post("/v1/chat/completions", json=body)

    assert reply.status_code == 200 and reply.json()["object"] == "chat.completion"


def test_an_unknown_model_is_a_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[user(QUESTION)])

    assert raised.value.body == {
        "message": "The model `gpt-4o` does not exist: this server has `citechat`.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/v1/chat/completions", {"content": b"{not json"}, 400),
        ("POST", "/v1/chat/completions", {"json": {"model": "citechat"}}, 400),
        ("POST", "/v1/completions", {"json": {}}, 404),
        ("GET", "/v1/chat/completions", {}, 405),
        (
            "POST",
            "/v1/chat/completions",
            {"json": {"model": "citechat", "messages": [user("x" * 300_000)]}},
            413,
        ),
    ],
)
def test_every_v1_error_has_openai_s_shape(
    api: httpx.Client, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    reply = api.request(method, path, **kwargs)

    assert reply.status_code == status
    assert set(reply.json()) == {"error"} and set(reply.json()["error"]) == OPENAI_ERROR_FIELDS
    assert reply.json()["error"]["type"] == "invalid_request_error"


def test_the_citechat_api_keeps_its_own_error_shape(api: httpx.Client) -> None:
    reply = api.post("/api/chat", json={"messages": []})

    assert reply.status_code == 422
    assert reply.json() == {
        "code": "invalid_request",
        "detail": "messages: at least one message (the question) is required",
    }


def test_the_store_being_down_is_an_openai_503(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=free_port())
    with serve_app(create_app(settings, embedder=embedder)) as url:
        with pytest.raises(openai.InternalServerError) as raised:
            ask(client_for(url), user(QUESTION), stream=True)

    assert raised.value.status_code == 503
    assert raised.value.body["type"] == "server_error"  # type: ignore[index]
    assert raised.value.body["code"] == "store_unavailable"  # type: ignore[index]


def test_llm_answers_come_through_both_ways(llm_client: openai.OpenAI, stub: LLMStub) -> None:
    reply = "As of 23 May 2025 the US plans to withhold further funding [1] for the mission."
    stub.script(reply, reply)

    completion = ask(llm_client, user(QUESTION))
    chunks = ask_streaming(llm_client, user(QUESTION))

    text = completion.choices[0].message.content
    assert text.startswith(reply + "\n\n---\n\n**Sources**\n\n1. [")
    assert completion.citechat["mode"] == "llm" and completion.citechat["answer"] == reply
    assert streamed_text(chunks) == text
    assert chunks[-1].citechat["citations"] == completion.citechat["citations"]


def test_an_llm_follow_up_is_condensed_without_the_sources_list(
    llm_client: openai.OpenAI, stub: LLMStub
) -> None:
    first = "As of 23 May 2025 the US plans to withhold further funding [1] for the mission."
    stub.script(first, "Who announced the end of US funding for the Haiti mission?", first)
    earlier = ask(llm_client, user(QUESTION)).choices[0].message.content
    stub.requests.clear()

    ask(llm_client, user(QUESTION), {"role": "assistant", "content": earlier}, user("Who?"))

    condense_prompt = stub.requests[0]["messages"][-1]["content"]
    assert first in condense_prompt and "Sources" not in condense_prompt


def test_an_llm_fallback_shows_its_notice(llm_client: openai.OpenAI, stub: LLMStub) -> None:
    stub.script(Reply(status=500))

    completion = ask(llm_client, user(QUESTION))

    notice = completion.citechat["notice"]
    assert notice and completion.citechat["mode"] == "extractive"
    text = completion.choices[0].message.content
    assert f"\n\n---\n\nNote: {notice}\n\n**Sources**\n\n1. " in text


def test_a_stream_breaking_after_text_was_sent_raises_in_the_client(
    llm_client: openai.OpenAI, stub: LLMStub
) -> None:
    claim = "The US plans to withhold further funding [1]."
    stub.script(Reply(f"{claim} Then more words follow here.", break_after=10))
    received = []

    with pytest.raises(openai.APIError) as raised:
        for chunk in ask(llm_client, user(QUESTION), stream=True):
            received.append(chunk)

    assert raised.value.body["code"] == "llm_failed"  # type: ignore[index]
    assert streamed_text(received) == claim
    assert all(c.choices[0].finish_reason is None for c in received)


def test_the_routes_are_documented(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]

    assert {"/v1/models", "/v1/models/{model}", "/v1/chat/completions"} <= set(paths)
    operation = paths["/v1/chat/completions"]["post"]
    for word in ("`citechat`", "[DONE]", "`n`", "`tools`", "`temperature`"):
        assert word in operation["description"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]


READ_KEY = "read-key-0123456789abcdef"


@pytest.fixture(scope="module")
def keyed_url(sample_settings: Settings, embedder: Embedder) -> Iterator[str]:
    """A server whose read routes need a key."""
    settings = make_settings(sample_settings.data_dir, api_keys=READ_KEY)
    with serve_app(create_app(settings, embedder=embedder)) as url:
        yield url


@pytest.mark.parametrize("key", [None, "wrong-key-0123456789abcdef"])
def test_without_a_valid_key_v1_is_an_openai_401(keyed_url: str, key: str | None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": "citechat", "messages": [user(QUESTION)]}

    for method, path in [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]:
        reply = httpx.request(method, keyed_url + path, json=body, headers=headers, timeout=30)
        assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
        assert reply.json()["error"]["type"] == "authentication_error"
        assert reply.json()["error"]["code"] == "unauthorized"


def test_the_openai_client_uses_the_read_key(keyed_url: str) -> None:
    client = client_for(keyed_url)

    with pytest.raises(openai.AuthenticationError) as raised:
        ask(client, user(QUESTION))  # its key is "unused"

    assert set(error_body(raised.value)) == OPENAI_ERROR_FIELDS
    assert ask(client.with_options(api_key=READ_KEY), user(QUESTION)).citechat["answered"]


def test_the_rate_limit_answers_openai_429s(sample_settings: Settings, embedder: Embedder) -> None:
    settings = make_settings(sample_settings.data_dir, rate_limit="2/minute")
    with serve_app(create_app(settings, embedder=embedder)) as url:
        client = client_for(url)
        answers = [ask(client, user(QUESTION)) for _ in range(2)]
        with pytest.raises(openai.RateLimitError) as raised:
            ask(client, user(QUESTION))

    assert all(answer.citechat["answered"] for answer in answers)
    assert raised.value.response.headers["retry-after"]
    assert raised.value.body["type"] == "rate_limit_error"  # type: ignore[index]
    assert raised.value.body["code"] == "rate_limited"  # type: ignore[index]
