from pathlib import Path

import pytest
from pydantic import ValidationError

from ingestion.embeddings import LocalEmbedder
from ingestion.errors import AppError
from ingestion.store import ChunkStore, EmbeddingModelMismatch, StoreUnavailable, open_client
from tests.helpers import free_port, make_settings


def test_a_collection_refuses_another_embedding_model(tmp_path: Path) -> None:
    client = open_client(make_settings(tmp_path))
    ChunkStore(client, "docs", "model-a").bump_revision()
    assert ChunkStore(client, "docs", "model-a").revision()  # same model: fine, metadata kept
    with pytest.raises(EmbeddingModelMismatch, match="built with 'model-a', not 'model-b'") as e:
        ChunkStore(client, "docs", "model-b")
    assert isinstance(e.value, AppError)  # reported like every other user-facing error
    assert (e.value.code, e.value.status_code) == ("index_mismatch", 503)


def test_unreachable_server_is_store_unavailable(tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=port)
    with pytest.raises(StoreUnavailable, match=f"http://127.0.0.1:{port}") as e:
        open_client(settings)
    assert isinstance(e.value, AppError)
    assert (e.value.code, e.value.status_code) == ("store_unavailable", 503)
    assert e.value.detail == "the vector store is unavailable"  # clients are not told where


def test_the_local_backend_only_takes_its_bundled_model(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ships only all-MiniLM-L6-v2"):
        make_settings(tmp_path, embed_model="bge-small")
    assert make_settings(tmp_path).embed_model == LocalEmbedder.name
