"""The chunk metadata that search filters select on, derived from ``published`` and ``source``.

Chroma compares only numbers with ``$gte``/``$lte``, so the publication date is also stored as
the number ``YYYYMMDD`` (``published_day``; 0 when undated), and the source's host, lower-cased
and without a leading ``www.``, as ``source_host`` (empty when the source is not an http(s)
URL). Chunks written before these were recorded get them from :meth:`ChunkStore.backfill`
(ingestion/store.py), which marks the collection with ``FLAG`` once every chunk has them.
"""

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

PUBLISHED_DAY = "published_day"
SOURCE_HOST = "source_host"
FLAG = "filter_fields"  # collection metadata: every chunk holds the fields of this version
VERSION = 1
UNDATED = 0


def day_number(published: str) -> int:
    """``2024-03-05`` as ``20240305``; :data:`UNDATED` when there is no valid date."""
    try:
        return date_number(dt.date.fromisoformat(published[:10]))
    except ValueError:
        return UNDATED


def date_number(date: dt.date) -> int:
    """A date as the number ``YYYYMMDD``, which orders as the dates do."""
    return date.year * 10_000 + date.month * 100 + date.day


def host_name(value: str) -> str:
    """The host of an http(s) URL or of a bare host name (``Example.com``), lower-cased, without
    a port or a leading ``www.``; empty when there is none."""
    if "://" not in value:
        value = f"//{value}"
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname or ""
    except ValueError:
        return ""
    if parts.scheme not in ("", "http", "https"):
        return ""
    host = host.rstrip(".")
    return host.removeprefix("www.")


def source_host(source: str) -> str:
    """The host of a document's source when it is an http(s) URL, else empty."""
    if not source.lower().startswith(("http://", "https://")):
        return ""
    return host_name(source)


def filter_fields(published: str, source: str) -> dict[str, Any]:
    """The metadata fields filters select on, for a chunk of a document so dated and sourced."""
    return {PUBLISHED_DAY: day_number(published), SOURCE_HOST: source_host(source)}


def missing_fields(metadata: dict[str, Any]) -> dict[str, Any]:
    """The fields ``metadata`` lacks or holds wrongly, with their values; empty when right."""
    wanted = filter_fields(str(metadata.get("published", "")), str(metadata.get("source", "")))
    return {key: value for key, value in wanted.items() if metadata.get(key) != value}
