"""Named collections: each its own Chroma collection, lexical index and change log.

A document belongs to one collection. ``default`` is the Chroma collection the settings name
(``CITECHAT_COLLECTION``), so an index made before collections existed is the default one;
another name ``NAME`` is the Chroma collection ``<CITECHAT_COLLECTION>--NAME``.
"""

import re

from ingestion.errors import AppError

DEFAULT = "default"
SEPARATOR = "--"  # between the settings' collection and a collection's name, in Chroma
MAX_NAME_CHARS = 40
# A short slug: lower-case letters, digits and single hyphens inside.
_NAME = re.compile(rf"[a-z0-9](?:-?[a-z0-9]){{0,{MAX_NAME_CHARS - 1}}}")


class InvalidCollection(AppError):
    """A collection name that is not a short slug."""

    code = "invalid_collection"
    status_code = 422


class CollectionNotFound(AppError):
    """A collection nothing was stored in (or that was deleted); reads never create one."""

    code = "collection_not_found"
    status_code = 404


def check_name(name: str) -> str:
    """``name`` when it is a collection name, else :class:`InvalidCollection` saying why."""
    if not _NAME.fullmatch(name):
        raise InvalidCollection(
            f"collection: {name[:60]!r} is not a collection name: 1 to {MAX_NAME_CHARS} "
            "lower-case letters, digits and single hyphens, starting and ending with a letter "
            "or digit",
            param="collection",
        )
    return name


def chroma_name(base: str, name: str) -> str:
    """The Chroma collection of collection ``name``, under the settings' collection ``base``."""
    return base if check_name(name) == DEFAULT else f"{base}{SEPARATOR}{name}"


def names_in(base: str, chroma_names: list[str]) -> list[str]:
    """The collections among the Chroma collections ``chroma_names``, sorted, default first."""
    prefix = base + SEPARATOR
    named = {n.removeprefix(prefix) for n in chroma_names if n.startswith(prefix) and n != prefix}
    return [DEFAULT, *sorted(n for n in named if _NAME.fullmatch(n) and n != DEFAULT)]
