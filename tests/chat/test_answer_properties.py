"""No question crashes the answerer: generated corpora and questions, over a real server.

Hypothesis draws small corpora (dated and undated documents, duplicates, one-sentence and
empty ones, documents sharing every word, or of stop words only) and questions (question
words, follow-ups, time cues), uploads the corpus through the documents API of one real
server, and asks over ``/api/chat`` and ``/v1/chat/completions``: every call answers 200 with
a well-formed reply whose quotes are verbatim text of the documents, each shown in the answer.
"""

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, find, given, settings
from hypothesis import strategies as st

from ingestion.embeddings import Embedder
from service.app import create_app
from tests.helpers import make_settings, serve_app

ADMIN_KEY = "admin-key-0123456789abcdef"
# A small vocabulary, so that documents share words, names, figures and dates.
WORDS = (
    "Kenya Haiti US mission police Boeing chief executive funding budget rose fell "
    "million 100 2,500 cost launch telescope mirror March 2024 the a of in was is"
).split()
STOP = {"the", "a", "of", "in", "was", "is"}  # the stop words of WORDS: no BM25 term
TIME_CUES = (
    *("", " now", " still", " today", " this week"),
    *(" as of March 2024", " in 2022", " since 2019"),
)
ASKING = (
    *("Who is", "What is", "When was", "Where is", "Which", "How many", "How much is", "Why did"),
    *("Is", "How has", "What"),
)

words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=9)
sentence = words.map(lambda w: " ".join(w).capitalize() + ".")
text = st.lists(sentence, min_size=0, max_size=4).map(" ".join)
published = st.one_of(
    st.just(""), st.dates(dt.date(2018, 1, 1), dt.date(2026, 1, 1)).map(dt.date.isoformat)
)
document = st.tuples(words.map(" ".join), published, text)
corpus = st.lists(document, min_size=1, max_size=5).flatmap(
    lambda docs: st.lists(st.sampled_from(docs), min_size=0, max_size=2).map(lambda d: docs + d)
)
question = st.builds(
    lambda head, w, cue: f"{head} {' '.join(w)}{cue}?",
    st.sampled_from(ASKING),
    words,
    st.sampled_from(TIME_CUES),
)
conversation = st.lists(question, min_size=1, max_size=2)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[httpx.Client]:
    """One server, whose documents each example replaces."""
    data_dir = tmp_path_factory.mktemp("properties") / "data"
    app = create_app(make_settings(data_dir, admin_api_keys=ADMIN_KEY), embedder=embedder)
    with serve_app(app) as base_url:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=base_url, timeout=120, headers=headers) as client:
            yield client


def store(api: httpx.Client, documents: list[tuple[str, str, str]]) -> dict[str, str]:
    """Replace the server's documents with ``documents``; their texts by id."""
    for listed in api.get("/api/documents").json()["documents"]:
        assert api.delete(f"/api/documents/{listed['document_id']}").status_code == 204
    texts = {}
    for i, (title, date, body) in enumerate(documents):
        fields = {"title": title} | ({"published": date} if date else {})
        files = {"file": (f"doc{i}.md", body.encode())}
        response = api.post("/api/documents", files=files, data=fields)
        assert response.status_code in (201, 422), response.text  # 422: nothing to index
        if response.status_code == 201:
            texts[f"doc{i}.md"] = body
    return texts


def verbatim(quote: str, texts: dict[str, str], document_id: str) -> bool:
    """True when ``quote`` (possibly cut short with "…") is text of the document."""
    return bool(quote.strip()) and quote.strip().rstrip("…").strip() in texts[document_id]


def shown(quote: str, answer: str) -> bool:
    """True when the answer shows ``quote`` (the generated texts have no connective to drop)."""
    return " ".join(quote.rstrip("…").split()) in " ".join(answer.split())


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(documents=corpus, turns=conversation)
@example(  # an undated best answer and a weaker dated one (a 500 in _newest_first before)
    documents=[
        ("Germany's minimum wage", "", "Germany's minimum wage is 12.82 euros an hour."),
        ("Talks", "2025-06-27", "Unions met. Pay was discussed. A minimum wage was mentioned."),
    ],
    turns=["What is Germany's minimum wage?"],
)
@example(  # stop words only: no BM25 term (a 500 in its delta before)
    documents=[("The", "", "The a of in.")], turns=["Who is Kenya?"]
)
def test_every_question_gets_a_well_formed_answer_with_verbatim_quotes(
    api: httpx.Client, documents: list[tuple[str, str, str]], turns: list[str]
) -> None:
    texts = store(api, documents)
    messages: list[dict[str, Any]] = []
    for turn in turns:
        messages.append({"role": "user", "content": turn})
        response = api.post("/api/chat", json={"messages": messages})
        assert response.status_code == 200, response.text
        body = response.json()
        assert isinstance(body["answered"], bool) and body["answer"].strip()
        for citation in body["citations"]:
            assert verbatim(citation["quote"], texts, citation["document_id"]), citation
            assert shown(citation["quote"], body["answer"]), citation
        assert body["answered"] or not body["citations"]
        messages.append({"role": "assistant", "content": body["answer"]})

    asked = {"model": "citechat", "messages": messages[:-1]}  # ending with the last question
    openai = api.post("/v1/chat/completions", json=asked)
    assert openai.status_code == 200, openai.text
    reply = openai.json()["choices"][0]["message"]["content"]
    assert isinstance(reply, str) and reply.strip()
    assert not re.search(r"Traceback|Internal Server Error", reply)


@pytest.mark.parametrize(
    "shape",
    [
        lambda docs: any(date for _, date, _ in docs) and any(not date for _, date, _ in docs),
        lambda docs: any(not body for _, _, body in docs),
        lambda docs: any(body.count(".") == 1 for _, _, body in docs),
        lambda docs: len(docs) != len(set(docs)),  # duplicates
        lambda docs: (
            len({frozenset(body.split()) for _, _, body in docs if body}) == 1
            and sum(bool(body) for _, _, body in docs) > 1
        ),  # sharing every word
        lambda docs: any(
            body and set(body.lower().replace(".", " ").split()) <= STOP for _, _, body in docs
        ),  # of stop words only
    ],
)
def test_the_generated_corpora_include_the_hard_shapes(shape: Any) -> None:
    """The corpus strategy can draw each shape the property is about."""
    assert shape(find(corpus, shape))
