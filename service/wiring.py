"""Builds the service's components from settings: the only place that creates clients."""

from dataclasses import dataclass
from functools import partial

from ingestion.embeddings import Embedder, build_embedder
from ingestion.store import ChunkStore, describe, open_client
from service.retrieval import Retriever
from service.settings import Settings


@dataclass
class Components:
    settings: Settings
    retriever: Retriever


def open_store(settings: Settings, embed_model: str) -> ChunkStore:
    return ChunkStore(open_client(settings), settings.collection, embed_model)


def build_components(settings: Settings, embedder: Embedder | None = None) -> Components:
    """Load the embedding model (unless given) and prepare a lazily connected retriever."""
    embedder = embedder or build_embedder(settings)
    embedder.load()
    retriever = Retriever(
        partial(open_store, settings, embedder.name),
        embedder,
        where=describe(settings),
        mode=settings.retrieval_mode,
        refresh_seconds=settings.index_refresh_seconds,
    )
    return Components(settings=settings, retriever=retriever)
