"""A store on a full disk: the server stays up and says it is not ready, and stops on SIGTERM."""

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from ingestion.embeddings import Embedder
from service.settings import Settings
from service.wiring import open_store
from tests.helpers import SAMPLE_CORPUS, citechat_serve, make_settings, run_ingest, tmpfs

DISK = "12m"
# Left free before a write of about 3 MB: its log fits, applying it to the segments does not,
# which leaves chromadb with a log it must apply before any read.
LEFT_FOR_THE_WRITE = 4_500_000
STOP_SECONDS = 10  # SIGTERM stops the server within this (issue 21)
HANG_SECONDS = 120  # what a CLI command on the same store hung for (issue 21)


@pytest.fixture
def full_disk(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[Settings, Path]]:
    """Settings of a store on a tmpfs that a write filled; yields them and the ballast file
    whose removal frees the disk."""
    with tmpfs(tmp_path / "disk", DISK) as disk:
        settings = make_settings(disk / "data", min_free_disk_bytes=0)
        run_ingest(settings, embedder, [SAMPLE_CORPUS])
        ballast = disk / "ballast"
        ballast.write_bytes(bytes(shutil.disk_usage(disk).free - LEFT_FOR_THE_WRITE))
        fill(settings, embedder)
        yield settings, ballast


def fill(settings: Settings, embedder: Embedder) -> None:
    """Write chunks straight to Chroma (as another writer would) until the disk is full."""
    store = open_store(settings, embedder.name)
    meta = next(store.iter_chunks()).metadata
    ids = [f"fill-{i}.md::x::0" for i in range(256)]
    with pytest.raises(Exception, match="compaction"):
        store.collection.upsert(
            ids=ids,
            documents=["lorem ipsum " * 80] * len(ids),
            embeddings=np.random.default_rng(0).random((len(ids), 384), dtype=np.float32),
            metadatas=[meta | {"document_id": chunk_id.split("::")[0]} for chunk_id in ids],
        )
    store.close()


def test_a_server_over_a_full_disk_is_live_not_ready_and_stops_on_sigterm(
    full_disk: tuple[Settings, Path],
) -> None:
    settings, _ = full_disk
    with citechat_serve(settings, wait_path="/healthz") as (process, base_url):
        with httpx.Client(base_url=base_url, timeout=30) as client:
            paths = ["/readyz", "/api/search?q=haiti", "/api/documents", "/healthz"] * 3
            with ThreadPoolExecutor(4) as pool:  # store calls at once, as readers make them
                statuses = list(pool.map(lambda path: client.get(path).status_code, paths))
            assert statuses == [503, 503, 503, 200] * 3
            for _ in range(3):
                assert client.get("/healthz", timeout=2).status_code == 200
                ready = client.get("/readyz")  # store_full when chromadb's failure left no room
                assert ready.json()["code"] in {"store_unavailable", "store_full"}

            listing = subprocess.run(  # another process on the same store meanwhile
                [str(Path(sys.executable).with_name("citechat")), "documents"],
                env=os.environ | {"CITECHAT_DATA_DIR": str(settings.data_dir)},
                capture_output=True,
                text=True,
                timeout=HANG_SECONDS,
            )
            assert listing.returncode == 1
            [line] = listing.stderr.splitlines()
            assert line.startswith("error: ") and f"vector store at {settings.data_dir}" in line

            process.send_signal(signal.SIGTERM)  # the disk still full
            process.wait(timeout=STOP_SECONDS)
