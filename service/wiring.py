"""Builds the clients (store, embedding model, LLMs) from settings: the only place that does.

The CLI, the API and the eval command build through here; tests pass a ready ``embedder``.
"""

import threading
from dataclasses import dataclass, field
from functools import partial

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError

from ingestion.collections import DEFAULT, CollectionNotFound, check_name, chroma_name, names_in
from ingestion.embeddings import Embedder, LocalEmbedder, build_embedder
from ingestion.settings import IndexSettings
from ingestion.store import (
    STORE_ERRORS,
    ChunkStore,
    describe,
    disk_space,
    identity,
    open_client,
    store_failure,
)
from ingestion.store_client import StoreClient, StoreConnection
from service.chat.answerer import Answerer, LanguageModel
from service.chat.llm import ChatModel
from service.chat.prompts import Prompts
from service.lexical_snapshots import SnapshotStore
from service.retrieval import Retriever
from service.settings import Settings


@dataclass
class Components:
    """What answers from one collection: its store, retriever and answerer."""

    settings: Settings
    store: StoreConnection
    retriever: Retriever
    answerer: Answerer
    writes: threading.Lock = field(default_factory=threading.Lock)  # one upload at a time


def open_store(
    settings: Settings, embed_model: str, collection: str = DEFAULT, *, create: bool = True
) -> ChunkStore:
    """A connection to ``collection``, made now; unless ``create``, it must exist
    (:class:`CollectionNotFound`)."""
    name = chroma_name(settings.collection, collection)
    where, disk = describe(settings), disk_space(settings)
    client = open_client(settings)
    try:
        return ChunkStore(client, name, embed_model, where=where, disk=disk, create=create)
    except NotFoundError as exc:
        client.close()  # type: ignore[attr-defined]  # HttpClient and PersistentClient have it
        raise CollectionNotFound(f"no collection {collection!r}") from exc
    except STORE_ERRORS as exc:
        raise store_failure(exc, where, disk) from exc


def embedder_for(settings: IndexSettings, embedder: Embedder | None = None) -> Embedder:
    """``embedder`` (a test's, already loaded), else the model the settings name, whose
    weights load on first use (or on ``load()``)."""
    return embedder or build_embedder(settings)


def collection_names(settings: Settings, client: ClientAPI) -> list[str]:
    """The collections ``client``'s store holds, ``default`` first (listed even while empty)."""
    listed = [collection.name for collection in client.list_collections()]
    return names_in(settings.collection, listed)


def delete_collection(settings: Settings, client: ClientAPI, name: str) -> None:
    """Delete collection ``name`` from ``client``'s store, and its BM25 snapshots:
    :class:`CollectionNotFound` if there is none."""
    chroma = chroma_name(settings.collection, name)
    try:
        stored = identity(client.get_collection(chroma, embedding_function=None))
        client.delete_collection(chroma)
    except NotFoundError as exc:
        raise CollectionNotFound(f"no collection {name!r}") from exc
    SnapshotStore(settings.bm25_snapshot_path).remove(stored)


class Collections:
    """The collections a process serves: each one's components built on first use and kept,
    over one store client. A collection made by another process is found on first use; one
    never stored in is :class:`CollectionNotFound` (reads never create one, except
    ``default``)."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder_for(settings, embedder)
        self.embedder.load()
        if isinstance(self.embedder, LocalEmbedder):
            self.embedder.use_threads(1)  # queries come one at a time (LocalEmbedder.use_threads)
        self.client = StoreClient(
            partial(open_client, settings), describe(settings), disk_space(settings)
        )
        self._language_model = build_language_model(settings)
        self._snapshots = SnapshotStore.open(settings.bm25_snapshot_path)
        self._built: dict[str, Components] = {}
        self._lock = threading.Lock()
        self._writes = threading.Lock()  # one upload at a time, whatever the collection
        self._started = False

    def get(self, name: str = DEFAULT, *, create: bool = False) -> Components:
        """The components of collection ``name``; with ``create``, the collection is made
        now unless it exists (a write's first use)."""
        check_name(name)
        if name != DEFAULT and (create or name not in self._built):
            with self.client.connected(name, partial(self._open, name, create)):
                pass  # CollectionNotFound unless it exists (or was made now)
        with self._lock:
            components = self._built.get(name)
            new = components is None
            if components is None:
                components = self._built[name] = self._build(name)
        if new and self._started:  # outside the lock: it waits for the first BM25 build
            components.retriever.start()
        return components

    def names(self) -> list[str]:
        """The collections in the store, ``default`` first."""
        with self.client.client() as client:
            return collection_names(self.settings, client)

    def delete(self, name: str) -> None:
        """Delete collection ``name`` and everything in it."""
        with self._writes, self.client.client() as client:
            try:
                delete_collection(self.settings, client, name)
            finally:
                self.client.forget(name)
        with self._lock:
            components = self._built.pop(name, None)
        if components is not None:
            components.retriever.stop()

    def start(self) -> None:
        """Follow the default collection now, and every other one from its first use."""
        with self._lock:
            self._started = True
        self.get(DEFAULT).retriever.start()

    def stop(self) -> None:
        with self._lock:
            built = list(self._built.values())
        for components in built:
            components.retriever.stop()

    def _open(self, name: str, create: bool, client: ClientAPI) -> ChunkStore:
        return ChunkStore(
            client,
            chroma_name(self.settings.collection, name),
            self.embedder.name,
            where=self.client.where,
            disk=disk_space(self.settings),
            create=create,
        )

    def _build(self, name: str) -> Components:
        settings = self.settings
        store = StoreConnection(self.client, name, partial(self._open, name, name == DEFAULT))
        retriever = Retriever(
            store,
            self.embedder,
            mode=settings.retrieval_mode,
            refresh_seconds=settings.index_refresh_seconds,
            reopen_on_change=settings.chroma_host is None,
            snapshots=self._snapshots,
        )
        answerer = Answerer(retriever, settings.top_k, self._language_model)
        return Components(settings, store, retriever, answerer, self._writes)


def build_components(
    settings: Settings, embedder: Embedder | None = None, collection: str = DEFAULT
) -> Components:
    """Load the embedding model (unless given) and prepare a lazily connected retriever of
    ``collection``, which must exist unless it is ``default``."""
    return Collections(settings, embedder).get(collection)


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
