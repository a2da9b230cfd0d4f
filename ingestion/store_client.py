"""The process's one client of the store, shared by its threads and collections, and each
collection's connection over it (:class:`StoreConnection`, what the retriever and the routes
use): reconnection after failures and reopening with no call in flight.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError

from ingestion.collections import CollectionNotFound
from ingestion.store import (
    STORE_ERRORS,
    ChunkStore,
    DiskSpace,
    StoredDocument,
    StoreUnavailable,
    store_failure,
)

logger = logging.getLogger(__name__)


class _SwapGate:
    """Many store calls at once, or one swap of the store connection with none in flight."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._users = 0
        self._swapping = False

    @contextmanager
    def use(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._swapping)
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                self._cond.notify_all()

    @contextmanager
    def swap(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._swapping)
            self._swapping = True
            self._cond.wait_for(lambda: self._users == 0)
        try:
            yield
        finally:
            with self._cond:
                self._swapping = False
                self._cond.notify_all()


class StoreClient:
    """A process's one client of the store, shared by its threads and by every collection:
    opened on first use, closed after a failure once no call uses it (the next use
    reconnects), and reopened on demand with no call in flight (:meth:`reopen`). One client
    for all collections, because an on-disk client sees another process's writes only once
    every client of its path is closed (chromadb shares one system per path)."""

    def __init__(
        self, open_client: Callable[[], ClientAPI], where: str, disk: DiskSpace | None = None
    ) -> None:
        self._open_client = open_client
        self._disk = disk
        self._client: ClientAPI | None = None
        self._stores: dict[str, ChunkStore] = {}  # of the current client, by collection
        self._failed = False  # the client failed: close it before opening another
        self.where = where
        self._gate = _SwapGate()
        self._open_lock = threading.Lock()  # one client is opened at a time, and only once

    @contextmanager
    def connected(
        self, name: str, open_store: Callable[[ClientAPI], ChunkStore]
    ) -> Iterator[ChunkStore]:
        """The store of collection ``name`` (made by ``open_store`` on first use). A store
        failure inside the block is raised as :class:`StoreUnavailable` and marks the client
        failed, so the next call closes it and reconnects; a collection deleted meanwhile is
        forgotten and raised as :class:`CollectionNotFound`; any other exception is a bug and
        passes through unchanged."""
        with self._using():
            try:
                yield self._connect(name, open_store)
            except (CollectionNotFound, NotFoundError) as exc:
                self.forget(name)
                raise CollectionNotFound(f"no collection {name!r}") from exc

    @contextmanager
    def client(self) -> Iterator[ClientAPI]:
        """The client itself, for what concerns no one collection (listing, deleting them)."""
        with self._using():
            with self._open_lock:
                client = self._opened()
            yield client

    @contextmanager
    def _using(self) -> Iterator[None]:
        if self._failed:
            self._close_failed()
        with self._gate.use():
            try:
                yield
            except STORE_ERRORS as exc:  # a call made on the store's client directly
                failure = store_failure(exc, self.where, self._disk)
                self._fail(failure)
                raise failure from exc
            except StoreUnavailable as exc:
                self._fail(exc)
                raise

    def _fail(self, failure: StoreUnavailable) -> None:
        self._failed = True
        logger.warning("%s", failure)

    def _close_failed(self) -> None:
        # A second on-disk client opened while the failed one is open can hang in chromadb's
        # Rust code holding the GIL, which stops every thread: close the failed one first.
        with self._gate.swap():
            if self._failed:
                self._failed = False
                try:
                    self._close()
                except STORE_ERRORS as exc:
                    logger.warning("vector store at %s not closed: %r", self.where, exc)

    def _connect(self, name: str, open_store: Callable[[ClientAPI], ChunkStore]) -> ChunkStore:
        # Requests that arrive together after a swap or a failure share one new client: chromadb
        # keeps one shared system per path, which clients opened at once on one path break.
        with self._open_lock:
            store = self._stores.get(name)
            if store is None:
                store = self._stores[name] = open_store(self._opened())
            return store

    def _opened(self) -> ClientAPI:
        """The client, opened now if it is not (the caller holds ``_open_lock``)."""
        if self._client is None:
            self._client = self._open_client()
        return self._client

    def _close(self) -> None:
        client, self._client = self._client, None
        self._stores.clear()
        if client is not None:
            client.close()  # type: ignore[attr-defined]  # HttpClient and PersistentClient have it

    def reopen(self) -> None:
        """Close the client once no call uses it; the next call opens a new one (on disk,
        that reads the store afresh: a client never sees another process's writes)."""
        with self._gate.swap():
            try:
                self._close()
            except STORE_ERRORS as exc:
                raise store_failure(exc, self.where, self._disk) from exc

    def forget(self, name: str) -> None:
        """Drop the store of collection ``name`` (deleted): its next use opens it again."""
        with self._open_lock:
            self._stores.pop(name, None)


class StoreConnection:
    """One collection of the process's :class:`StoreClient`: what the retriever and the routes
    use."""

    def __init__(
        self, client: StoreClient, name: str, open_store: Callable[[ClientAPI], ChunkStore]
    ) -> None:
        self.client = client
        self.name = name  # the citechat collection
        self.where = client.where
        self._open_store = open_store

    def connected(self) -> AbstractContextManager[ChunkStore]:
        """The collection's store; see :meth:`StoreClient.connected`."""
        return self.client.connected(self.name, self._open_store)

    def reopen(self) -> None:
        """Reopen the shared client (see :meth:`StoreClient.reopen`)."""
        self.client.reopen()

    def check(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers."""
        with self.connected() as store:
            store.collection.count()

    def documents(self) -> dict[str, StoredDocument]:
        """The stored documents, by id."""
        with self.connected() as store:
            return store.documents()
