"""Publication dates: parsing, the way answers write them, and questions about the present."""

import calendar
import datetime as dt
import re
from collections.abc import Callable

PRESENT_WORDS = (
    "still now nowadays currently current latest today anymore recent recently lately presently"
)
CHANGE_WORDS = "change changed changes changing evolve evolved evolving shift shifted"
_PRESENT = re.compile(rf"\b({'|'.join(PRESENT_WORDS.split())}|any more|so far)\b", re.IGNORECASE)
_CHANGE = re.compile(rf"\b({'|'.join(CHANGE_WORDS.split())}|over time|since)\b", re.IGNORECASE)


_MONTHS = {name: number for number, name in enumerate(calendar.month_name) if name}
_MONTH = re.compile(rf"\b({'|'.join(_MONTHS)})\b")  # capitalised only: "may" is a verb
_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
_FROM_ON = re.compile(r"\b(since|after|from)\s+(?:\w+\s+){0,2}?(?:19|20)\d\d\b", re.IGNORECASE)
_UP_TO = re.compile(r"\b(before|until|till|by)\s+(?:\w+\s+){0,2}?(?:19|20)\d\d\b", re.IGNORECASE)


def period_of(question: str) -> Callable[[str], bool] | None:
    """Which publication dates the question is about, if it names a year or a month.

    "in 2023" and "between February and May 2025" name periods; "since 2023" and "before
    2025" open them on one side. None when the question names no date.
    """
    years = {int(y) for y in _YEAR.findall(question)}
    months = {_MONTHS[m] for m in _MONTH.findall(question)}
    if not years and not months:
        return None
    if years and _FROM_ON.search(question):
        first = min(years)
        return lambda published: _year(published) >= first
    if years and _UP_TO.search(question):
        last = max(years)
        return lambda published: _year(published) <= last

    def within(published: str) -> bool:
        date = parse_date(published)
        if date is None:
            return False
        return (not years or date.year in years) and (not months or date.month in months)

    return within


def is_date(word: str) -> bool:
    """True for a year ("2023") or a month name ("May")."""
    return bool(_YEAR.fullmatch(word) or _MONTH.fullmatch(word))


def _year(published: str) -> int:
    date = parse_date(published)
    return date.year if date else 0


def parse_date(published: str) -> dt.date | None:
    """The date of an ISO ``published`` value (``2025-05-23``); None when absent or invalid."""
    try:
        return dt.date.fromisoformat(published[:10])
    except ValueError:
        return None


def format_date(published: str) -> str:
    """``2025-05-23`` as ``23 May 2025``; an unparsable value is returned unchanged."""
    date = parse_date(published)
    return f"{date.day} {date:%B %Y}" if date else published


def asks_about_present(question: str) -> bool:
    """True when the question is about the present state of things ("still", "now", ...)."""
    return _PRESENT.search(question) is not None


def asks_about_time(question: str) -> bool:
    """True when the question is about the present or about change over time."""
    return asks_about_present(question) or _CHANGE.search(question) is not None


def recency_key(published: str) -> int:
    """A sort key putting the most recent date first and undated sources last."""
    date = parse_date(published)
    return -date.toordinal() if date else 1
