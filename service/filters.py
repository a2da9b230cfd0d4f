"""Search filters: the one model that search, chat and /v1 accept, applied inside retrieval.

A filter bounds the candidates of both sides of retrieval before the best are taken (Chroma's
``where`` on the dense side, a row mask on the BM25 side), so ``k`` results still come back
when ``k`` passages match. Dates are inclusive and compare the document's publication day; an
undated document never passes a date filter. Hosts match exactly, ignoring case, a port and a
leading ``www.``: ``example.com`` is ``www.example.com``, not ``news.example.com``.
"""

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ingestion.filter_fields import (
    PUBLISHED_DAY,
    SOURCE_HOST,
    UNDATED,
    date_number,
    host_name,
)

MAX_DOCUMENT_IDS = 100
MAX_SOURCE_HOSTS = 20
MAX_VALUE_CHARS = 1024  # of a host or a document id
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    """``YYYY-MM-DD`` as a date; any other text is refused (no timestamps, no times)."""
    if isinstance(value, str):
        if not _ISO_DAY.fullmatch(value):
            raise ValueError("a date must be written YYYY-MM-DD")
        return dt.date.fromisoformat(value)
    return value


IsoDay = Annotated[dt.date, BeforeValidator(_iso_day)]
Bounded = Annotated[str, Field(min_length=1, max_length=MAX_VALUE_CHARS)]


class Filters(BaseModel):
    """Which documents may answer: every filter given must hold (each list: any of its values)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    published_after: IsoDay | None = Field(
        default=None,
        description="Only documents published on or after this day (`YYYY-MM-DD`); undated "
        "documents are left out.",
        examples=["2024-01-01"],
    )
    published_before: IsoDay | None = Field(
        default=None,
        description="Only documents published on or before this day (`YYYY-MM-DD`); undated "
        "documents are left out.",
        examples=["2024-12-31"],
    )
    source_hosts: list[Bounded] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SOURCE_HOSTS,
        description="Only documents whose source URL is on one of these hosts. A host matches "
        "exactly, ignoring case, a port and a leading `www.` (`example.com` is "
        "`www.example.com`); subdomains do not match (`news.example.com` must be listed).",
        examples=[["example.com"]],
    )
    document_ids: list[Bounded] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_DOCUMENT_IDS,
        description=f"Only these documents (at most {MAX_DOCUMENT_IDS} ids).",
    )

    @field_validator("source_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str] | None) -> list[str] | None:
        if hosts is None:
            return None
        names = []
        for host in hosts:
            name = host_name(host)
            if not name or any(c.isspace() or c in "/\\@?#" for c in name):
                raise ValueError(f"{host!r} is not a host name (such as example.com)")
            names.append(name)
        return names

    @model_validator(mode="after")
    def _ordered(self) -> "Filters":
        after, before = self.published_after, self.published_before
        if after is not None and before is not None and after > before:
            raise ValueError(f"published_after {after} is later than published_before {before}")
        return self

    @property
    def active(self) -> bool:
        """True when any filter is given."""
        return any(
            value is not None
            for value in (
                self.published_after,
                self.published_before,
                self.source_hosts,
                self.document_ids,
            )
        )

    def day_range(self) -> tuple[int, int] | None:
        """The first and last ``YYYYMMDD`` admitted (undated, 0, never is), or None."""
        if self.published_after is None and self.published_before is None:
            return None
        first = date_number(self.published_after) if self.published_after else UNDATED + 1
        last = date_number(self.published_before) if self.published_before else 99_999_999
        return first, last

    def where(self) -> dict[str, Any] | None:
        """The filters as a Chroma ``where`` on the chunks' metadata; None when there are none."""
        clauses: list[dict[str, Any]] = []
        if (days := self.day_range()) is not None:
            clauses.append({PUBLISHED_DAY: {"$gte": days[0]}})
            clauses.append({PUBLISHED_DAY: {"$lte": days[1]}})
        if self.source_hosts is not None:
            clauses.append({SOURCE_HOST: {"$in": self.source_hosts}})
        if self.document_ids is not None:
            clauses.append({"document_id": {"$in": self.document_ids}})
        if len(clauses) > 1:
            return {"$and": clauses}
        return clauses[0] if clauses else None

    def admits(self, day: int, host: str, document_id: str) -> bool:
        """True when a chunk of a document so dated (``YYYYMMDD``), hosted and named passes."""
        days = self.day_range()
        return (
            (days is None or days[0] <= day <= days[1])
            and (self.source_hosts is None or host in self.source_hosts)
            and (self.document_ids is None or document_id in self.document_ids)
        )


NO_FILTERS = Filters()
