"""`citechat sync`: keep the index in step with websites (docs/sync.md).

Sources come from a TOML file: RSS/Atom feeds (feedparser), XML sitemaps, sitemap indexes and
news sitemaps (the standard schema, parsed with defusedxml) and single URLs. Every page is
fetched through :class:`ingestion.fetch.Fetcher`, read like an HTML file (trafilatura) and
stored through the pipeline, owned by its source. What each URL last answered (ETag,
Last-Modified, a hash of the body) is kept in a state file, so an unchanged page is not
parsed again, let alone embedded.
"""

import calendar
import datetime as dt
import hashlib
import json
import logging
import os
import posixpath
import time
import tomllib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ingestion.collections import DEFAULT, InvalidCollection, check_name
from ingestion.embeddings import Embedder
from ingestion.errors import AppError
from ingestion.fetch import Fetcher, FetchError, FetchPolicy, Page
from ingestion.loaders import (
    FileLimits,
    LoadedDocument,
    LoadError,
    check_document_id,
    read_document,
)
from ingestion.pipeline import IngestReport, ProgressFactory, ingest_synced
from ingestion.store import ChunkStore

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter

logger = logging.getLogger(__name__)

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"
MAX_SITEMAP_DEPTH = 3  # an index of indexes of sitemaps at most
MAX_SITEMAPS = 200  # fetched for one source: an index cannot make a run read without end
GZIP_MAGIC = b"\x1f\x8b"
PAGES_PER_WRITE = 100  # pages read, then embedded and stored together
_FILE_NAMES = {  # media type -> the file name whose suffix the loaders read it by
    "text/html": "page.html",
    "application/xhtml+xml": "page.html",
    "text/plain": "page.txt",
    "text/markdown": "page.md",
    "application/pdf": "page.pdf",
}
_KINDS = ("feed", "sitemap", "urls")


class SourcesError(AppError):
    """A sources file that cannot be used; the message says what is wrong."""

    code = "sync_sources_invalid"
    status_code = 500  # the operator's configuration, not the client's request


@dataclass(frozen=True)
class Source:
    """One ``[[source]]`` of the sources file."""

    name: str
    kind: str  # "feed", "sitemap" or "urls"
    urls: tuple[str, ...]  # the feed's or sitemap's URL, or the pages
    prune: bool = False  # remove this source's documents no longer listed
    collection: str = DEFAULT  # the collection its documents are stored in


@dataclass(frozen=True)
class SyncLimits:
    """The caps of one run (``Settings.sync_limits``)."""

    max_pages: int
    max_seconds: float


@dataclass(frozen=True)
class Listed:
    url: str
    published: str = ""  # ISO date from the feed or news sitemap, or ""
    modified: str = ""  # the sitemap's <lastmod> or the feed entry's updated time, as written


@dataclass
class SourceReport:
    """What one source's run did: the pipeline's counts plus fetch outcomes."""

    name: str
    report: IngestReport = field(default_factory=IngestReport)
    listed: int = 0
    not_modified: int = 0  # 304, or the same body as last time: not parsed again
    finished: str = ""  # ISO time
    error: str = ""  # why the listing could not be read, if it could not

    def summary(self) -> str:
        counts = self.as_dict()
        return (
            "{listed} listed: {new} new, {changed} changed, {unchanged} unchanged, "
            "{failed} failed, {pruned} pruned; {chunks_embedded} chunks embedded".format(**counts)
        )

    def as_dict(self) -> dict[str, Any]:
        r = self.report
        return {
            "name": self.name,
            "finished": self.finished,
            "ok": not self.error and not r.failed,
            "error": self.error,
            "listed": self.listed,
            "new": r.new,
            "changed": r.changed,
            "unchanged": r.unchanged + self.not_modified,
            "failed": len(r.failed),
            "pruned": r.pruned,
            "chunks_embedded": r.chunks_embedded,
            "failures": [{"url": url, "reason": reason} for url, reason in r.failed[:50]],
        }


def load_sources(path: Path) -> list[Source]:
    """Read the sources file; raise :class:`SourcesError` saying what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourcesError(f"sources file {path}: {exc}") from exc
    entries = data.get("source", [])
    if not isinstance(entries, list) or not entries:
        raise SourcesError(f"sources file {path}: no [[source]] tables")
    sources: list[Source] = []
    for number, entry in enumerate(entries, 1):
        where = f"sources file {path}, source {number}"
        if not isinstance(entry, dict):
            raise SourcesError(f"{where}: not a table")
        unknown = set(entry) - {"name", "prune", "collection", *_KINDS}
        kinds = [kind for kind in _KINDS if kind in entry]
        if unknown or len(kinds) != 1:
            raise SourcesError(
                f"{where}: expected a name, one of feed, sitemap or urls, prune and collection"
                + (f"; unknown keys {sorted(unknown)}" if unknown else "")
            )
        kind = kinds[0]
        value = entry[kind]
        urls = value if isinstance(value, list) else [value]
        name = entry.get("name", "")
        prune = entry.get("prune", False)
        if not isinstance(name, str) or not name or not isinstance(prune, bool):
            raise SourcesError(f"{where}: name must be non-empty text and prune true or false")
        if not urls or not all(isinstance(u, str) and u for u in urls):
            raise SourcesError(f"{where}: {kind} must be a URL (urls: a list of URLs)")
        if name in {s.name for s in sources}:
            raise SourcesError(f"{where}: name {name!r} used twice")
        collection = entry.get("collection", DEFAULT)
        try:
            check_name(collection if isinstance(collection, str) else "")
        except InvalidCollection as exc:
            raise SourcesError(f"{where}: {exc}") from exc
        sources.append(Source(name, kind, tuple(urls), prune, collection))
    return sources


def source_hosts(sources: list[Source]) -> set[str]:
    """The hosts of the sources' URLs: the default allowlist."""
    return {(urlsplit(url).hostname or "").lower() for s in sources for url in s.urls} - {""}


def document_id_for(url: str) -> str:
    """The document id of a page: its URL without the scheme, the path normalised
    (``example.org/news/a``); raise :class:`LoadError` when it is no safe id."""
    parts = urlsplit(url)
    path = posixpath.normpath("/" + parts.path).lstrip("/") if parts.path else ""
    pieces = [parts.netloc.lower(), *[p for p in path.split("/") if p not in ("", ".", "..")]]
    document_id = "/".join(pieces)
    if parts.query:
        document_id += "?" + parts.query
    return check_document_id(document_id)


class SyncState:
    """What each URL last answered, and each source's last run, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self.pages: dict[str, dict[str, str]] = dict(data.get("pages", {}))
        self.runs: dict[str, dict[str, Any]] = dict(data.get("runs", {}))

    def save(self) -> None:
        """Write the file atomically: a reader never sees half of it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"pages": self.pages, "runs": self.runs}), "utf-8")
        os.replace(temporary, self.path)


def read_runs(path: Path) -> dict[str, dict[str, Any]]:
    """Each source's last run, as :meth:`SourceReport.as_dict`, by source name."""
    return SyncState(path).runs


def sync(
    sources: list[Source],
    store: ChunkStore,
    embedder: Embedder,
    splitter: "SentenceSplitter",
    *,
    policy: FetchPolicy,
    limits: SyncLimits,
    file_limits: FileLimits,
    state_path: Path,
    progress: ProgressFactory | None = None,
    on_page: Callable[[], object] | None = None,
    open_collection: Callable[[str], ChunkStore] | None = None,
) -> list[SourceReport]:
    """Bring the store in line with ``sources``, one source after the other: ``store`` is
    the default collection's, ``open_collection`` opens another a source names.

    A page that cannot be fetched or read fails alone, with its reason in the report; a
    listing that cannot be read fails its source (and prunes nothing). The page cap and the
    time cap end the run early: pages not reached are reported as failed.
    """
    with Fetcher(policy) as fetcher:
        run = _Run(
            {DEFAULT: store}, open_collection, embedder, splitter, fetcher,
            SyncState(state_path), file_limits, time.monotonic() + limits.max_seconds,
            limits.max_pages, progress, on_page,
        )  # fmt: skip
        reports = []
        for source in sources:
            report = run.sync_source(source)
            report.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            run.state.runs[source.name] = report.as_dict()
            run.state.save()
            reports.append(report)
    return reports


@dataclass
class _Run:
    """One sync run: what every source shares, and the pages it may still fetch."""

    stores: dict[str, ChunkStore]  # by collection, opened as sources name them
    open_collection: Callable[[str], ChunkStore] | None
    embedder: Embedder
    splitter: "SentenceSplitter"
    fetcher: Fetcher
    state: SyncState
    file_limits: FileLimits
    deadline: float  # time.monotonic() after which no page is fetched
    pages_left: int
    progress: ProgressFactory | None
    on_page: Callable[[], object] | None

    def sync_source(self, source: Source) -> SourceReport:
        result = SourceReport(source.name)
        try:
            listed = _list(source, self.fetcher)
        except FetchError as exc:
            result.error = f"listing not read: {exc}"
            logger.info("sync source %s: %s", source.name, result.error)
            return result
        result.listed = len(listed)
        stored = self.store_of(source).documents()
        pending: list[tuple[LoadedDocument, str, dict[str, str]]] = []  # with the URL's state
        kept: set[str] = set()  # ids of listed pages not fetched again: not pruned
        written: set[str] = set()  # ids of the pages fetched to be stored
        for item in listed:
            entry = self.state.pages.get(item.url, {})
            known = entry.get("document_id", "")
            if item.modified and known in stored and entry.get("modified") == item.modified:
                # The listing says the page is as it was last time: not even asked for.
                result.not_modified += 1
                kept.add(known)
                continue
            if self.pages_left <= 0 or time.monotonic() > self.deadline:
                cap = "PAGES" if self.pages_left <= 0 else "RUN_SECONDS"
                reason = f"not fetched: the run reached its cap (CITECHAT_SYNC_MAX_{cap})"
                result.report.failed.append((item.url, reason))
                kept.add(known)
                continue
            self.pages_left -= 1
            if self.on_page is not None:
                self.on_page()
            try:
                fetched = _fetch_document(item, self.fetcher, self.state, stored, self.file_limits)
            except (FetchError, LoadError) as exc:
                result.report.failed.append((item.url, str(exc)))
                kept.add(known)
                continue
            if fetched is None:
                result.not_modified += 1
                kept.add(known)
                continue
            if fetched[0].document_id in written:
                reason = f"duplicate document id {fetched[0].document_id!r} (same canonical URL)"
                result.report.failed.append((item.url, reason))
                continue
            written.add(fetched[0].document_id)
            pending.append((fetched[0], item.url, fetched[1]))
            if len(pending) == PAGES_PER_WRITE:  # bounds the texts held in memory
                self._store(source, pending, None, result.report)
                pending = []
        keep = (kept | written) - {""} if source.prune else None
        if pending or keep is not None:
            self._store(source, pending, keep, result.report)
        for url, reason in result.report.failed:
            logger.info("sync source %s: %s failed: %s", source.name, url, reason)
        return result

    def store_of(self, source: Source) -> ChunkStore:
        """The store of the source's collection."""
        store = self.stores.get(source.collection)
        if store is None:
            if self.open_collection is None:
                raise SourcesError(f"source {source.name}: collections are not available here")
            store = self.stores[source.collection] = self.open_collection(source.collection)
        return store

    def _store(
        self,
        source: Source,
        pending: list[tuple[LoadedDocument, str, dict[str, str]]],
        keep: set[str] | None,
        report: IngestReport,
    ) -> None:
        """Store ``pending`` pages (and prune what ``keep`` leaves out); remember the answers
        of the pages stored, so the next run skips them while they stay the same."""
        written = ingest_synced(
            [(doc, url) for doc, url, _ in pending],
            source.name,
            self.store_of(source),
            self.embedder,
            self.splitter,
            keep=keep,
            progress=self.progress,
        )
        refused = {url for url, _ in written.failed}
        self.state.pages.update((url, a) for _, url, a in pending if url not in refused)
        report.add(written)


def fetch_document(url: str, policy: FetchPolicy, file_limits: FileLimits) -> LoadedDocument:
    """One page fetched and read as sync reads it, for the documents API; raise
    :class:`FetchError` or :class:`LoadError` saying why it cannot be."""
    with Fetcher(policy) as fetcher:
        return _read_page(fetcher.fetch(url), Listed(url), file_limits)


def _fetch_document(
    item: Listed,
    fetcher: Fetcher,
    state: SyncState,
    stored: dict[str, Any],
    file_limits: FileLimits,
) -> tuple[LoadedDocument, dict[str, str]] | None:
    """The page as a document with what to remember of its answer, or None when it has not
    changed since the last run."""
    known = state.pages.get(item.url, {})
    still_stored = known.get("document_id") in stored
    page = fetcher.fetch(
        item.url,
        known.get("etag", "") if still_stored else "",
        known.get("last_modified", "") if still_stored else "",
    )
    body_hash = hashlib.sha256(page.body).hexdigest()
    if page.status == 304 or (still_stored and body_hash == known.get("body_hash")):
        state.pages[item.url] = {**known, "modified": item.modified}
        return None
    doc = _read_page(page, item, file_limits)
    answer = {
        "modified": item.modified,
        "etag": page.etag,
        "last_modified": page.last_modified,
        "body_hash": body_hash,
        "document_id": doc.document_id,
    }
    return doc, answer


def _read_page(page: Page, item: Listed, limits: FileLimits) -> LoadedDocument:
    """Parse a fetched page; its canonical URL counts only on the host it was fetched from,
    so a page cannot overwrite another site's (or another page's host's) documents."""
    name = _FILE_NAMES.get(page.content_type)
    if name is None:
        raise LoadError(f"unsupported content type {page.content_type or 'none'!r}")
    doc = read_document(page.body, name, "page", limits)
    canonical = doc.source if _same_host(doc.source, page.url) else page.url
    if len(canonical) > limits.max_source_chars:
        raise LoadError(f"URL longer than {limits.max_source_chars} characters")
    return replace(
        doc,
        document_id=document_id_for(canonical),
        source=canonical,
        published=doc.published or item.published,
        title=doc.title if doc.title != "page" else canonical,
    )


def _same_host(url: str, fetched: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == (
        urlsplit(fetched).netloc.lower()
    )


def _list(source: Source, fetcher: Fetcher) -> list[Listed]:
    """The pages a source lists, each once, in its order."""
    if source.kind == "urls":
        items = [Listed(url) for url in source.urls]
    elif source.kind == "feed":
        items = _feed(fetcher.fetch(source.urls[0]))
    else:
        items = _sitemap(source.urls[0], fetcher, 0, set())
    unique: dict[str, Listed] = {}
    for item in items:
        unique.setdefault(item.url, item)
    return list(unique.values())


def _feed(page: Page) -> list[Listed]:
    import feedparser

    # Bytes, so feedparser fetches nothing itself; relative links resolve against the feed's
    # URL. Its content is judged by itself, whatever media type the server claimed.
    headers = {"content-location": page.url, "content-type": "application/xml"}
    parsed = feedparser.parse(page.body, response_headers=headers)
    entries = parsed.get("entries", [])
    if not entries and parsed.get("bozo"):
        raise FetchError(f"not a feed: {parsed.get('bozo_exception')}")
    items = []
    for entry in entries:
        link = entry.get("link")
        if not link:
            continue
        # dict.get: feedparser's own get() maps a missing "updated" to "published", warning.
        when = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
        published = dt.datetime.fromtimestamp(calendar.timegm(when), dt.UTC) if when else None
        modified = str(dict.get(entry, "updated") or dict.get(entry, "published") or "")
        date = published.date().isoformat() if published else ""
        items.append(Listed(str(link), date, modified))
    return items


def _sitemap(url: str, fetcher: Fetcher, depth: int, read: set[str]) -> list[Listed]:
    """The pages of a sitemap, or of every sitemap of a sitemap index, recursively; ``read``
    collects the sitemaps fetched, at most MAX_SITEMAPS per source, each once."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if url in read:
        return []
    if len(read) >= MAX_SITEMAPS:
        raise FetchError(f"sitemap {url}: more than {MAX_SITEMAPS} sitemaps in one source")
    read.add(url)
    page = fetcher.fetch(url)
    body = page.body
    if body[:2] == GZIP_MAGIC:  # a sitemap.xml.gz file, not a gzip transfer encoding
        body = _gunzip(body, fetcher.policy.max_bytes, url)
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException) as exc:
        raise FetchError(f"sitemap {url}: not XML: {exc}") from exc
    if root.tag == f"{SITEMAP_NS}sitemapindex":
        if depth >= MAX_SITEMAP_DEPTH:
            raise FetchError(f"sitemap {url}: indexes nested more than {MAX_SITEMAP_DEPTH} deep")
        items = []
        for child in root.iterfind(f"{SITEMAP_NS}sitemap/{SITEMAP_NS}loc"):
            items += _sitemap((child.text or "").strip(), fetcher, depth + 1, read)
        return items
    if root.tag != f"{SITEMAP_NS}urlset":
        raise FetchError(f"sitemap {url}: neither a urlset nor a sitemapindex")
    items = []
    for entry in root.iterfind(f"{SITEMAP_NS}url"):
        loc = (entry.findtext(f"{SITEMAP_NS}loc") or "").strip()
        date = entry.findtext(f"{NEWS_NS}news/{NEWS_NS}publication_date") or ""
        modified = (entry.findtext(f"{SITEMAP_NS}lastmod") or "").strip()
        if loc:
            items.append(Listed(loc, _iso_date(date), modified))
    return items


def _gunzip(body: bytes, cap: int, url: str) -> bytes:
    """``body`` decompressed, at most ``cap`` bytes of it: a gzip bomb stops there."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, cap + 1)
    except zlib.error as exc:
        raise FetchError(f"sitemap {url}: malformed gzip: {exc}") from exc
    if len(data) > cap:
        raise FetchError(
            f"sitemap {url}: larger than {cap} bytes once decompressed "
            "(CITECHAT_SYNC_MAX_PAGE_BYTES)"
        )
    return data


def _iso_date(value: str) -> str:
    """The date of a W3C datetime (``2026-12-06T10:00:00Z``), or "" when it is none."""
    try:
        return dt.date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return ""
