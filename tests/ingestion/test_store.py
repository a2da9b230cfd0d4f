import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from ingestion.embeddings import LocalEmbedder
from ingestion.errors import AppError
from ingestion.store import (
    HNSW,
    ChunkStore,
    EmbeddingModelMismatch,
    StoreUnavailable,
    open_client,
)
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


# Reopens the store in a fresh process (Chroma loads its index once per process) and prints how
# close the nearest chunks of each query vector are.
NEAREST = """
import json, sys
from pathlib import Path
from ingestion.store import ChunkStore, open_client
from tests.helpers import make_settings
store = ChunkStore(open_client(make_settings(Path(sys.argv[1]))), "docs", "model")
print(json.dumps([[round(s, 5) for _, s in store.query(q, 5)] for q in json.load(sys.stdin)]))
"""


def test_a_store_finds_the_same_chunks_after_every_restart(tmp_path: Path) -> None:
    """Chroma adds the vectors logged since its index was last saved again at every start: more
    than a batch of them went into its graph differently each time (chroma-core/chroma#3638)."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(60, 384))
    vectors = centers[rng.integers(0, 60, 1999)] + 0.5 * rng.normal(size=(1999, 384))
    vectors[1::7] = vectors[0::7][: len(vectors[1::7])]  # duplicates, as syndicated news has
    store = ChunkStore(open_client(make_settings(tmp_path)), "docs", "model")
    for start in range(0, len(vectors), 50):  # by default its index was saved after 1000
        batch = vectors[start : start + 50].astype(np.float32)
        ids = [f"c{start + i}" for i in range(len(batch))]
        store.collection.add(ids=ids, embeddings=batch)
    store.client.close()  # type: ignore[attr-defined]  # as an ingest ends
    queries = json.dumps(rng.normal(size=(40, 384)).tolist())  # far from every chunk

    runs = [
        subprocess.run(
            [sys.executable, "-c", NEAREST, str(tmp_path)],
            input=queries,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(3)
    ]

    assert json.loads(runs[0]) and runs[1:] == runs[:1] * 2


def test_a_store_made_with_chromas_defaults_is_given_its_index_settings_once_opened(
    tmp_path: Path,
) -> None:
    client = open_client(make_settings(tmp_path))
    made = client.create_collection("docs", configuration={"hnsw": {"space": "cosine"}})
    assert made.configuration_json["hnsw"]["sync_threshold"] > HNSW["sync_threshold"]

    ChunkStore(client, "docs", "model")

    hnsw = client.get_collection("docs").configuration_json["hnsw"]
    assert {key: hnsw[key] for key in HNSW} == HNSW
