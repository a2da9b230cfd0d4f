"""Builds the service's components from settings: the only place that creates clients."""

import threading
from dataclasses import dataclass, field
from functools import partial

from ingestion.embeddings import Embedder, LocalEmbedder, build_embedder
from ingestion.store import ChunkStore, describe, open_client
from service.chat.answerer import Answerer, LanguageModel
from service.chat.llm import ChatModel
from service.chat.prompts import Prompts
from service.lexical_snapshots import SnapshotStore
from service.retrieval import Retriever
from service.settings import Settings


@dataclass
class Components:
    settings: Settings
    retriever: Retriever
    answerer: Answerer
    writes: threading.Lock = field(default_factory=threading.Lock)  # one upload at a time


def open_store(settings: Settings, embed_model: str) -> ChunkStore:
    return ChunkStore(open_client(settings), settings.collection, embed_model)


def build_components(settings: Settings, embedder: Embedder | None = None) -> Components:
    """Load the embedding model (unless given) and prepare a lazily connected retriever."""
    embedder = embedder or build_embedder(settings)
    embedder.load()
    if isinstance(embedder, LocalEmbedder):
        embedder.use_threads(1)  # queries come one at a time; see LocalEmbedder.use_threads
    retriever = Retriever(
        partial(open_store, settings, embedder.name),
        embedder,
        where=describe(settings),
        mode=settings.retrieval_mode,
        refresh_seconds=settings.index_refresh_seconds,
        reopen_on_change=settings.chroma_host is None,
        snapshots=SnapshotStore(settings.bm25_snapshot_path),
    )
    return Components(
        settings=settings,
        retriever=retriever,
        answerer=Answerer(retriever, settings.top_k, build_language_model(settings)),
    )


def build_language_model(settings: Settings) -> LanguageModel | None:
    """The LLM of LLM mode (prompts checked now), or None for extractive mode."""
    if settings.llm_base_url is None:
        return None
    model = ChatModel(
        settings.llm_base_url,
        settings.llm_api_key.get_secret_value(),
        settings.llm_model,
        settings.llm_timeout,
        settings.llm_max_retries,
    )
    return LanguageModel(model, Prompts.load(settings.prompts_dir), settings.llm_deadline)
