"""Chat fixtures: the answerer over the sample index, and the text of its chunks."""

import pytest

from ingestion.embeddings import Embedder
from service.settings import Settings
from service.wiring import Components, build_components


@pytest.fixture(scope="session")
def chat_components(sample_settings: Settings, embedder: Embedder) -> Components:
    """Components in extractive mode over the sample corpus (no LLM configured)."""
    return build_components(sample_settings, embedder)


@pytest.fixture(scope="session")
def chunk_texts(chat_components: Components) -> dict[str, str]:
    """The text of every stored chunk, by chunk id: what quotes must be taken from."""
    with chat_components.store.connected() as store:
        return {chunk.chunk_id: chunk.text for chunk in store.iter_chunks(include_text=True)}
