"""Which collections a request may use, and the collection it names (docs/collections.md).

``CITECHAT_COLLECTION_ACCESS`` binds read keys and page origins (the ``Origin`` header) to
collections: a request with a bound key, or from a bound origin, may use only the collections
that list it (both bound: those listing both); admin keys and unbound keys and origins may use
every one. A collection the request may not use is a 403, checked before whether it exists.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request, Security

from ingestion.collections import DEFAULT, check_name
from service.api.auth import Credentials, matches, reader_scheme
from service.api.deps import CollectionsDep, SettingsDep
from service.chat.answerer import Answerer
from service.errors import Forbidden
from service.retrieval import Retriever
from service.wiring import Components


@dataclass(frozen=True)
class Access:
    """The collections a request may use: ``None`` for every one."""

    allowed: frozenset[str] | None

    def permits(self, name: str) -> bool:
        return self.allowed is None or name in self.allowed

    def check(self, name: str) -> None:
        """Raise :class:`Forbidden` unless the request may use collection ``name``."""
        if not self.permits(check_name(name)):
            raise Forbidden(
                f"collection {name!r} is not open to this API key or page origin",
                param="collection",
            )


def request_access(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[Credentials, Security(reader_scheme)],
) -> Access:
    """What the request's key and ``Origin`` may use, by ``CITECHAT_COLLECTION_ACCESS``."""
    bindings = settings.collection_access
    token = credentials.credentials if credentials is not None else ""
    if not bindings or (token and matches(token, settings.admin_api_keys)):
        return Access(None)
    allowed: set[str] | None = None
    if token:
        by_key = {name for name, bound in bindings.items() if matches(token, bound.api_keys)}
        allowed = by_key or None
    origin = (request.headers.get("origin") or "").rstrip("/").lower()
    by_origin = {name for name, bound in bindings.items() if origin and origin in bound.origins}
    if by_origin:
        allowed = by_origin if allowed is None else allowed & by_origin
    return Access(None if allowed is None else frozenset(allowed))


AccessDep = Annotated[Access, Depends(request_access)]
CollectionQuery = Annotated[
    str,
    Query(
        description="The collection to use (docs/collections.md): a short slug; "
        "`default` when not given.",
        max_length=64,
    ),
]


def read_collection(
    collections: CollectionsDep, access: AccessDep, collection: CollectionQuery = DEFAULT
) -> Components:
    """The collection the request names, if it may use it (403) and it exists (404)."""
    access.check(collection)
    return collections.get(collection)


def write_collection(
    collections: CollectionsDep, collection: CollectionQuery = DEFAULT
) -> Components:
    """The collection a write names (admin routes reach every one), made now if new."""
    return collections.get(check_name(collection), create=True)


def admin_collection(
    collections: CollectionsDep, collection: CollectionQuery = DEFAULT
) -> Components:
    """The collection an admin route names, which must exist (404)."""
    return collections.get(collection)


ReadDep = Annotated[Components, Depends(read_collection)]
WriteDep = Annotated[Components, Depends(write_collection)]
AdminCollectionDep = Annotated[Components, Depends(admin_collection)]


def get_retriever(components: ReadDep) -> Retriever:
    return components.retriever


def get_answerer(components: ReadDep) -> Answerer:
    return components.answerer


RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
