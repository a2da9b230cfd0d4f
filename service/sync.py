"""Runs `citechat sync` for the CLI, and on a schedule for the server (docs/sync.md).

The server runs each sync as a `citechat sync` process, as cron would: it writes through its
own store client, and the running server serves what it stored at its next index refresh.
"""

import logging
import subprocess
import sys
import threading
from collections.abc import Callable

from ingestion.embeddings import Embedder
from ingestion.pipeline import ProgressFactory
from ingestion.store import ChunkStore
from ingestion.sync import Source, SourceReport, source_hosts, sync
from service.settings import Settings

logger = logging.getLogger(__name__)


def run_sync(
    settings: Settings,
    sources: list[Source],
    store: ChunkStore,
    embedder: Embedder,
    *,
    progress: ProgressFactory | None = None,
    on_page: Callable[[], object] | None = None,
    open_collection: Callable[[str], ChunkStore] | None = None,
) -> list[SourceReport]:
    """Sync ``sources`` into ``store`` (the default collection; ``open_collection`` opens the
    others sources name) with the settings' fetch policy and caps."""
    return sync(
        sources,
        store,
        embedder,
        settings.splitter(),
        policy=settings.fetch_policy(source_hosts(sources)),
        limits=settings.sync_limits,
        file_limits=settings.file_limits,
        state_path=settings.sync_state_path,
        progress=progress,
        on_page=on_page,
        open_collection=open_collection,
    )


class SyncSchedule:
    """Runs `citechat sync` every ``interval`` seconds in a thread, the first run at once."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sync-schedule", daemon=True)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._process = subprocess.Popen([sys.executable, "-m", "service.cli", "sync"])
            code = self._process.wait()
            if code not in (0, 1):  # 1: some pages failed, as the sources' status says
                logger.warning("scheduled sync exited with %d", code)
            self._stop.wait(self._interval)
