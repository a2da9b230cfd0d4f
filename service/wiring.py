"""Builds the clients (store, embedding model, LLMs) from settings: the only place that does.

The CLI, the API and the eval command build through here; tests pass a ready ``embedder``.
"""

import threading
from dataclasses import dataclass, field
from functools import partial

from ingestion.embeddings import Embedder, LocalEmbedder, build_embedder
from ingestion.settings import IndexSettings
from ingestion.store import (
    STORE_ERRORS,
    ChunkStore,
    StoreConnection,
    describe,
    disk_space,
    open_client,
    store_failure,
)
from service.chat.answerer import Answerer, LanguageModel
from service.chat.llm import ChatModel
from service.chat.prompts import Prompts
from service.lexical_snapshots import SnapshotStore
from service.retrieval import Retriever
from service.settings import Settings


@dataclass
class Components:
    settings: Settings
    store: StoreConnection
    retriever: Retriever
    answerer: Answerer
    writes: threading.Lock = field(default_factory=threading.Lock)  # one upload at a time


def open_store(settings: Settings, embed_model: str) -> ChunkStore:
    """A connection to the collection the settings name, made now."""
    where, disk = describe(settings), disk_space(settings)
    client = open_client(settings)
    try:
        return ChunkStore(client, settings.collection, embed_model, where=where, disk=disk)
    except STORE_ERRORS as exc:
        raise store_failure(exc, where, disk) from exc


def embedder_for(settings: IndexSettings, embedder: Embedder | None = None) -> Embedder:
    """``embedder`` (a test's, already loaded), else the model the settings name, whose
    weights load on first use (or on ``load()``)."""
    return embedder or build_embedder(settings)


def build_components(settings: Settings, embedder: Embedder | None = None) -> Components:
    """Load the embedding model (unless given) and prepare a lazily connected retriever."""
    embedder = embedder_for(settings, embedder)
    embedder.load()
    if isinstance(embedder, LocalEmbedder):
        embedder.use_threads(1)  # queries come one at a time; see LocalEmbedder.use_threads
    store = StoreConnection(
        partial(open_store, settings, embedder.name), describe(settings), disk_space(settings)
    )
    retriever = Retriever(
        store,
        embedder,
        mode=settings.retrieval_mode,
        refresh_seconds=settings.index_refresh_seconds,
        reopen_on_change=settings.chroma_host is None,
        snapshots=SnapshotStore.open(settings.bm25_snapshot_path),
    )
    return Components(
        settings=settings,
        store=store,
        retriever=retriever,
        answerer=Answerer(retriever, settings.top_k, build_language_model(settings)),
    )


def build_chat_model(settings: Settings, base_url: str, api_key: str, model: str) -> ChatModel:
    """An OpenAI-compatible chat client with the settings' timeout and retries."""
    return ChatModel(
        base_url,
        api_key,
        model,
        first_token_timeout=settings.llm_first_token_timeout,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        max_tokens=settings.llm_max_tokens,
    )


def build_language_model(settings: Settings) -> LanguageModel | None:
    """The LLM of LLM mode (prompts checked now), or None for extractive mode."""
    if settings.llm_base_url is None:
        return None
    model = build_chat_model(
        settings, settings.llm_base_url, settings.llm_api_key.get_secret_value(), settings.llm_model
    )
    prompts = Prompts.load(settings.prompts_dir)
    return LanguageModel(model, prompts, settings.llm_deadline, settings.llm_prompt_tokens)
