"""Filters over HTTP: search, chat (JSON and streamed) and /v1 answer only from what they admit."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from ingestion.embeddings import Embedder
from service.app import create_app
from service.settings import Settings
from tests.chat.chat_checks import FEBRUARY, MAY, SEPTEMBER, read_events
from tests.helpers import make_settings, serve_app
from tests.llm_stub import LLMStub

STILL = "Is the US still funding the Haiti mission?"
AS_OF = "As of March 2025, was the US funding the Haiti mission?"
WEATHER = "What will the weather be in Port-au-Prince tomorrow?"
TITLES = {
    SEPTEMBER: "US offers Ksh14.5 billion to support Kenya police mission in Haiti",
    FEBRUARY: "Haiti mission exempted from US funding freeze, Ruto says",
    MAY: "Haiti calls for regional help to battle gangs as U.S. delays funding",
}


@pytest.fixture(scope="module")
def base_url(sample_settings: Settings, embedder: Embedder) -> Iterator[str]:
    with serve_app(create_app(sample_settings, embedder=embedder)) as url:
        yield url


@pytest.fixture(scope="module")
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as http:
        yield http


def chat(api: httpx.Client, question: str, **filters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": question}]}
    reply = api.post("/api/chat", json=body | ({"filters": filters} if filters else {}))
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def cited(answer: dict[str, Any]) -> set[str]:
    return {c["document_id"] for c in answer["citations"]}


def retrieved(answer: dict[str, Any]) -> set[str]:
    return {p["document_id"] for p in answer["retrieved"]}


def test_search_takes_the_filters_as_query_parameters(api: httpx.Client) -> None:
    query = "US funding Haiti"
    everything = api.get("/api/search", params={"q": query, "k": 3}).json()["results"]
    assert MAY in {r["document_id"] for r in everything}

    hosts = ["kenyans.co.ke", "odrimedia.co.ke"]
    reply = api.get("/api/search", params={"q": query, "k": 3, "source_hosts": hosts})
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert len(results) == 3 and {r["document_id"] for r in results} <= {SEPTEMBER, FEBRUARY}
    dated = {"q": query, "published_after": "2025-02-07", "published_before": "2025-05-22"}
    assert {r["document_id"] for r in api.get("/api/search", params=dated).json()["results"]} == {
        FEBRUARY
    }


def test_a_chat_answer_cites_only_the_documents_the_filters_admit(api: httpx.Client) -> None:
    assert MAY in cited(chat(api, STILL))  # the newest source leads, unfiltered

    before = chat(api, STILL, published_before="2025-03-01")
    assert before["answered"] and cited(before) and retrieved(before) <= {SEPTEMBER, FEBRUARY}
    hosted = chat(api, STILL, source_hosts=["www.kenyans.co.ke"])
    assert cited(hosted) == retrieved(hosted) == {SEPTEMBER}
    named = chat(api, STILL, document_ids=[FEBRUARY])
    assert cited(named) == retrieved(named) == {FEBRUARY}


def test_the_question_s_time_scope_orders_within_the_filters(api: httpx.Client) -> None:
    assert cited(chat(api, AS_OF)) == {SEPTEMBER, FEBRUARY}  # the scope: up to March 2025

    later = chat(api, AS_OF, published_after="2023-10-01")
    assert retrieved(later) == {FEBRUARY, MAY}  # the filter bounds retrieval...
    assert cited(later) == {FEBRUARY}  # ...and the scope still leaves May out
    assert cited(chat(api, AS_OF, published_before="2024-12-31")) == {SEPTEMBER}


def test_a_no_answer_names_only_closest_sources_the_filters_admit(api: httpx.Client) -> None:
    assert TITLES[FEBRUARY] in chat(api, WEATHER)["answer"]

    answer = chat(api, WEATHER, source_hosts=["theamericansdigest.com"])

    assert not answer["answered"] and TITLES[MAY] in answer["answer"]
    assert TITLES[FEBRUARY] not in answer["answer"] and TITLES[SEPTEMBER] not in answer["answer"]


def test_a_follow_up_is_answered_within_the_filters(api: httpx.Client) -> None:
    turns = [
        {"role": "user", "content": "Is the US funding the Haiti mission?"},
        {"role": "assistant", "content": "Yes [1]."},
        {"role": "user", "content": "How much did it offer?"},
    ]
    unfiltered = api.post("/api/chat", json={"messages": turns}).json()
    assert cited(unfiltered) == {SEPTEMBER}

    filtered = api.post("/api/chat", json={"messages": turns, "filters": {"document_ids": [MAY]}})

    assert retrieved(filtered.json()) == {MAY} and cited(filtered.json()) <= {MAY}


def test_a_streamed_answer_cites_only_what_the_filters_admit(api: httpx.Client) -> None:
    body = {
        "messages": [{"role": "user", "content": STILL}],
        "stream": True,
        "filters": {"source_hosts": ["odrimedia.co.ke"]},
    }
    with api.stream("POST", "/api/chat", json=body) as reply:
        events = read_events(reply.iter_lines())

    [citations] = [data["citations"] for name, data in events if name == "citations"]
    assert citations and {c["document_id"] for c in citations} == {FEBRUARY}


@pytest.mark.parametrize(
    ("filters", "detail"),
    [
        (
            {"published_after": "2025-02-01", "published_before": "2025-01-01"},
            "filters: Value error, published_after 2025-02-01 is later than published_before",
        ),
        ({"published_after": "February 2025"}, "filters.published_after: Value error, a date must"),
        ({"source_hosts": "kenyans.co.ke"}, "filters.source_hosts: Input should be a valid list"),
        ({"document_ids": ["x"] * 101}, "filters.document_ids: List should have at most 100"),
        ({"published": "2025-01-01"}, "filters.published: Extra inputs are not permitted"),
    ],
)
def test_bad_filters_are_422_on_the_api_and_400_on_v1(
    api: httpx.Client, base_url: str, filters: dict[str, Any], detail: str
) -> None:
    messages = [{"role": "user", "content": STILL}]

    reply = api.post("/api/chat", json={"messages": messages, "filters": filters})

    assert reply.status_code == 422 and reply.json()["code"] == "invalid_request"
    assert detail in reply.json()["detail"]
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="citechat",
            messages=[{"role": "user", "content": STILL}],
            extra_body={"filters": filters},
        )
    assert detail in str(raised.value)


def test_bad_search_filters_are_422(api: httpx.Client) -> None:
    params = {"q": "funding", "published_after": "2025-02-01", "published_before": "2025-01-01"}
    reply = api.get("/api/search", params=params)
    assert reply.status_code == 422 and "later than published_before" in reply.json()["detail"]
    reply = api.get("/api/search", params={"q": "funding", "published_before": "2025-1-1"})
    assert reply.status_code == 422 and "YYYY-MM-DD" in reply.json()["detail"]


@pytest.mark.parametrize("stream", [False, True])
def test_v1_takes_the_filters_in_extra_body(base_url: str, stream: bool) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0, timeout=60)
    messages: Any = [{"role": "user", "content": STILL}]
    extra = {"filters": {"published_before": "2024-12-31"}}

    if stream:
        chunks = list(
            client.chat.completions.create(
                model="citechat", messages=messages, stream=True, extra_body=extra
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        reply = (chunks[-1].model_extra or {})["citechat"]
    else:
        completion = client.chat.completions.create(
            model="citechat", messages=messages, extra_body=extra
        )
        text = completion.choices[0].message.content or ""
        reply = (completion.model_extra or {})["citechat"]

    assert cited(reply) == retrieved(reply) == {SEPTEMBER}
    assert TITLES[SEPTEMBER] in text and TITLES[MAY] not in text and TITLES[FEBRUARY] not in text


def test_in_llm_mode_the_model_is_shown_only_passages_the_filters_admit(
    sample_settings: Settings, embedder: Embedder, llm_stub: LLMStub
) -> None:
    llm_stub.script(
        "Kenya will send 1000 police officers to the country whose stability was compromised "
        "by gangs [1]."
    )
    settings = make_settings(
        sample_settings.data_dir, llm_base_url=llm_stub.url, llm_timeout=5.0, llm_max_retries=0
    )
    with serve_app(create_app(settings, embedder=embedder)) as url:
        body = {
            "messages": [{"role": "user", "content": STILL}],
            "filters": {"source_hosts": ["kenyans.co.ke"]},
        }
        answer = httpx.post(f"{url}/api/chat", json=body, timeout=60).json()

    prompt = json.dumps(llm_stub.requests[-1]["messages"])
    assert TITLES[SEPTEMBER] in prompt
    assert TITLES[FEBRUARY] not in prompt and TITLES[MAY] not in prompt
    assert answer["mode"] == "llm", answer["notice"]
    assert cited(answer) == retrieved(answer) == {SEPTEMBER}
