from pathlib import Path

import httpx
import numpy as np

from ingestion.embeddings import Embedder, OpenAIEmbedder, build_embedder
from ingestion.sentences import split_sentences
from service.app import create_app
from tests.helpers import SAMPLE_CORPUS, make_settings, run_ingest, serve_app
from tests.llm_stub import EMBED_DIM, LLMStub


def test_openai_backend_batches_and_keeps_input_order(llm_stub: LLMStub, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        embed_backend="openai",
        embed_base_url=llm_stub.url,
        embed_model="stub-embed",
        embed_batch_size=2,
    )
    embedder = build_embedder(settings)
    assert isinstance(embedder, OpenAIEmbedder)
    texts = ["alpha", "beta", "gamma", "alpha beta"]

    vectors = embedder.embed_documents(texts)

    assert [len(r["input"]) for r in llm_stub.requests] == [2, 2]
    assert {r["model"] for r in llm_stub.requests} == {"stub-embed"}
    assert len(vectors) == 4 and all(len(v) == EMBED_DIM for v in vectors)
    assert vectors[0] != vectors[1]
    assert embedder.embed_query("alpha") == vectors[0]


def test_openai_backend_embeds_sentences_in_their_own_requests(
    llm_stub: LLMStub, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, embed_backend="openai", embed_base_url=llm_stub.url, embed_model="stub-embed"
    )
    embedder = build_embedder(settings)
    texts = ["Alpha rose. Beta fell.", "Gamma held."]
    spans = [split_sentences(text) for text in texts]

    [first, second] = embedder.embed_chunks(texts, spans)

    assert [r["input"] for r in llm_stub.requests] == [
        ["Alpha rose.", "Beta fell.", "Gamma held."],
        texts,
    ]
    assert first.chunk == embedder.embed_documents([texts[0]])[0]
    assert list(first.sentences) == spans[0] and list(second.sentences) == spans[1]
    gamma = np.asarray(embedder.embed_documents(["Gamma held."])[0], np.float32)
    np.testing.assert_array_equal(second.sentences[(0, 11)], gamma)


def test_sentences_past_the_model_window_get_no_vector(embedder: Embedder) -> None:
    text = " ".join(f"Sentence number {n} talks about topic {n}." for n in range(60))
    spans = split_sentences(text)

    [vectors] = embedder.embed_chunks([text], [spans])

    assert vectors.chunk == embedder.embed_documents([text])[0]
    assert spans[0] in vectors.sentences and spans[-1] not in vectors.sentences
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 for v in vectors.sentences.values())


def test_search_end_to_end_with_an_openai_compatible_embedder(
    llm_stub: LLMStub, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, embed_backend="openai", embed_base_url=llm_stub.url, embed_model="stub-embed"
    )
    embedder = build_embedder(settings)
    report = run_ingest(settings, embedder, [SAMPLE_CORPUS])
    assert report.new == 3 and not report.failed

    with serve_app(create_app(settings)) as base_url:
        response = httpx.get(f"{base_url}/api/search", params={"q": "Feinstein Caribbean Affairs"})
    assert response.status_code == 200
    assert response.json()["results"][0]["document_id"].startswith("2025-05-23")
