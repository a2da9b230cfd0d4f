"""Dates: publication dates as answers write them, and the time scope of a question.

A question's dates ("as of January 2022", "in mid-2022", "at Christmas 2024", "since 2018",
"last year") are found by ``dateparser`` against an injectable today's date and turned into
a period; the words of those dates are then left out of the question's content terms. A date
describing the word after it ("the 2024 election") names what is asked about: no period.
"""

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

from dateparser.date import DateDataParser
from dateparser.search import search_dates

PRESENT_WORDS = (
    "still now nowadays currently current latest today anymore recent recently lately presently yet"
)
CHANGE_WORDS = "change changed changes changing evolve evolved evolving shift shifted history"
# The first auxiliary verb of a question gives its tense: "Who is ...?", "What does ...?" ask
# about the present; "Who was ...?", "What did ...?" do not.
_TENSE = re.compile(r"\b(is|are|does|do|has|have|was|were|did|had)\b", re.IGNORECASE)
_PRESENT_TENSE = {"is", "are", "does", "do", "has", "have"}
# With no auxiliary, a verb in -s after "who" is in the present tense ("Who manages X?")
_ASKS_WHO_NOW = re.compile(r"^\W*who\s+[a-z]+[^s\W]s\b", re.IGNORECASE)
_PRESENT = re.compile(rf"\b({'|'.join(PRESENT_WORDS.split())}|any more|so far)\b", re.IGNORECASE)
_CHANGE = re.compile(rf"\b({'|'.join(CHANGE_WORDS.split())}|over time|since)\b", re.IGNORECASE)
# dateparser also reads "25%" or "second" as dates: a date of a question names a year, or is
# relative to today ("last year", "two months ago").
_DATE_LIKE = re.compile(
    r"\b(1[89]|2\d)\d\d\b|\b(last|this|past|previous)\s+(year|month|week)\b|\bago\b",
    re.IGNORECASE,
)
_ASKS = re.compile(r"\b(who|whom|whose|what|when|where|which|why|how)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[89]|2\d)\d\d\b")
# Parts of a year dateparser does not read: (first month, last month, last day or 0 for the
# month's end). "Christmas" is a day.
_PARTS = {
    "early": (1, 4, 0),
    "mid": (5, 8, 0),
    "middle of": (5, 8, 0),
    "late": (9, 12, 0),
    "end of": (10, 12, 0),
    "spring": (3, 5, 0),
    "summer": (6, 8, 0),
    "autumn": (9, 11, 0),
    "fall": (9, 11, 0),
    "winter": (1, 2, 0),
    "christmas": (12, 12, 25),
    "first half of": (1, 6, 0),
    "second half of": (7, 12, 0),
    "start of": (1, 3, 0),
    "beginning of": (1, 3, 0),
}
_ORDINALS = ("first", "second", "third", "fourth")
_PARTS |= {f"{_ORDINALS[q]} quarter of": (3 * q + 1, 3 * q + 3, 0) for q in range(4)}
_PARTS |= {f"q{q + 1}": (3 * q + 1, 3 * q + 3, 0) for q in range(4)}  # "Q3 2023"
# A part opens the phrase of a date ("in early 2019", "as of spring 2018"): after a preposition
# or "the", so that a verb ("did the population fall in 2022") is not read as a season.
_PART = re.compile(
    rf"(?:^|\b(?:in|of|the|at|by|on|since|from|until|till|before|after|during))\s+"
    rf"({'|'.join(_PARTS)})[\s-]+(?:of\s+)?$",
    re.IGNORECASE,
)
# "since 2018", "from 2018", "between 2018 (and ...)", or a date in a clause that "since" opens
# ("since X was appointed in 2022"): a change from then on. "after X was sacked in 2021" asks
# what came next, not now.
_OPENS = re.compile(r"\bsince\b[^,;:?!]*$|\b(between|from)\s+(the\s+)?$", re.IGNORECASE)
_AFTER = re.compile(r"\bafter\s+(the\s+)?$", re.IGNORECASE)  # "after 2018": from 2019 on
_RANGE_END = re.compile(r"\b(and|to)\s+(the\s+)?$", re.IGNORECASE)  # "between 2022 and 2024"
_PREPOSITIONS = "in|of|at|on|from|during|after|before|since|until|till|by|and|to|between"
# dateparser's match can open with words of the sentence ("after 2018", "in Q3 2023", "the
# 2021-22"): they tell what the date means, so they belong before it.
_LEADING = re.compile(
    rf"^(?:(?:the|{_PREPOSITIONS}|{'|'.join(p for p in _PARTS if ' ' not in p)})\s+)+",
    re.IGNORECASE,
)
_MONTH_BEFORE = re.compile(  # "March" of "before March 2020", which dateparser finds apart
    rf"(?:\b\d{{1,2}}\s+)?\b(?:{'|'.join(calendar.month_name[1:])})\s+(?:\d{{1,2}},?\s+)?$"
)
_YEARS = re.compile(r"^((?:1[89]|2\d)\d\d)[-–/](\d\d)$")  # "2021-22": both years
_CLOSES = re.compile(r"\b(before|until|till|by)\s+(the\s+)?$", re.IGNORECASE)  # "before 2025"
_WITHIN = re.compile(r"\b(during|throughout|over)\s+(the\s+)?$", re.IGNORECASE)  # "during 2023"
# A week counted from the day asked ("this week", "last week") is when the news asked about
# broke: its evidence is published from the week before it on, which announces the week's
# events, and may report them later.
_WEEK = re.compile(r"\b(this|last|past|previous)\s+week\b", re.IGNORECASE)
_WEEK_BEFORE = 7  # days of announcements before a week asked about
# dateparser's match can run past the date into the question ("March 8, 2024: The"), or stop
# before its year ("September 29" of "September 29, 2023").
_AS_OF_BEFORE = re.compile(r"\bas of\s+(the\s+)?$", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[:;?!]\s")
_YEAR_AFTER = re.compile(r",?\s+(1[89]|2\d)\d\d\b")
# A date before a word it describes ("the 2024 election", "its December 2018 launch") names the
# event asked about, not the period of the sources: no scope. One after a preposition ("in 2024
# when ...") is a period.
_DESCRIBES = re.compile(r"(1[89]|2\d)\d\d\s+[^\W\d_]")
_PREPOSITION = re.compile(rf"\b({_PREPOSITIONS}|as of)\s+$", re.IGNORECASE)


@dataclass(frozen=True)
class TimeScope:
    """When a question is about: the period its evidence must come from, and its cues.

    ``end``: the evidence was published on or before it (an "as of" question). ``start``:
    the evidence is from then on (a question about change "since" then). ``spans`` are the
    characters of the dates in the question, which are not content words. ``present_tense``:
    the question is in the present tense ("Who is ...?") and names no period. ``year``: the
    year an event is asked about ("did it fall in 2022?", not "In 2022, what ...?" nor "as of
    2022"), whose news a source published later can report. ``strict``: the question asks for
    news of a week counted from the day asked, which older sources cannot report. ``history``:
    an answer about time gives the history of older sources; not a follow-up's that keeps an
    earlier turn's period (:func:`conversation_scope`), which asks about that period's news.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    present: bool = False
    change: bool = False
    spans: tuple[tuple[int, int], ...] = ()
    present_tense: bool = False
    year: int | None = None  # the year an event is asked about ("did it fall in 2022?")
    strict: bool = False  # only evidence within the scope answers ("this week")
    history: bool = True  # an answer about time gives the history of older sources

    @property
    def temporal(self) -> bool:
        """True when the answer depends on when its sources were published."""
        return self.present or self.change or self.start is not None or self.end is not None

    def contains(self, published: str, text: str = "") -> bool:
        """True when ``published`` falls in the scope (an undated source never does), or when
        ``text`` names the year an event is asked about: news of a year is often published
        after it ("the population fell by 850,000 in 2022", in January 2023)."""
        if self.year is not None and any(m.group() == str(self.year) for m in _YEAR.finditer(text)):
            return True
        date = parse_date(published)
        if date is None:
            return self.start is None and self.end is None
        return (self.start is None or date >= self.start) and (self.end is None or date <= self.end)

    def without_dates(self, question: str) -> str:
        """``question`` with its dates blanked out."""
        for start, end in sorted(self.spans, reverse=True):
            question = question[:start] + " " + question[end:]
        return question


def time_scope(question: str, today: dt.date) -> TimeScope:
    """The time scope of ``question`` asked on ``today``.

    A date after today ("in 2027", "by 2050") is a fact asked about, not a scope: its words stay.
    A date in a question about the present that is not "as of" it ("Is the launch still due in
    October 2018?") is no scope either: the newest sources answer, whatever their words.
    """
    start = end = year = None
    strict = False
    spans = []
    present = _PRESENT.search(question) is not None
    as_of = re.search(r"\bas of\b", question, re.IGNORECASE) is not None
    periods = _periods(question, today)
    if as_of and (day := _as_of_day(question, periods)) is not None and day < today:
        # "As of November 2, 2023: who won this week?": its "this week" is that date's
        today = day
        periods = _periods(question, today)
    for span, first, last in periods:
        if first > today:
            continue
        before = question[: span[0]]
        if _describes(question, span):
            spans.append(span)
            continue
        if part := _PART.search(before):
            first, last = _part_of(part.group(1), first.year)
            span = (part.start(1), span[1])
        if _WITHIN.search(before):
            start, end = first, last
        elif _WEEK.search(question, span[0], span[1]):
            start, strict = first - dt.timedelta(days=_WEEK_BEFORE), True
        elif _CLOSES.search(before):
            end = first - dt.timedelta(days=1)
        elif _AFTER.search(before):
            start = last + dt.timedelta(days=1)
        elif _OPENS.search(before):
            start = first if start is None else min(start, first)
        elif start is not None and _RANGE_END.search(before):
            end = last
        elif present and not as_of:
            pass  # not a scope, nor words to match: the newest sources answer
        else:
            end = last if end is None else max(end, last)
            whole_year = (first.month, first.day, last.month, last.day) == (1, 1, 12, 31)
            whole_year = whole_year and first.year == last.year
            # a date before the question ("In 2020, what did ...?") frames it, as "as of" does
            framed = as_of or _ASKS.search(question, span[1]) is not None
            year = first.year if whole_year and not framed else None
        spans.append(span)
    present = present and end is None
    tense = _TENSE.search(question)
    undated_present = (
        tense.group().lower() in _PRESENT_TENSE
        if tense is not None
        else _ASKS_WHO_NOW.match(question) is not None
    )
    return TimeScope(
        start,
        end,
        present,
        _CHANGE.search(question) is not None,
        tuple(spans),
        undated_present and start is None and end is None,
        year if start is None else None,
        strict,
    )


def conversation_scope(question: str, earlier: Sequence[TimeScope], today: dt.date) -> TimeScope:
    """The time scope of ``question``, a turn of a conversation whose ``earlier`` user turns
    (their time scopes) come first: a follow-up naming no time of its own ("How did the
    committee split?") is about the period the latest earlier turn naming one set ("... in
    August 2025?"), not about every date the documents have; its answer is that period's
    news, without the history."""
    scope = time_scope(question, today)
    if scope.temporal or scope.spans:
        return scope
    for period in reversed(earlier):
        if period.start is not None or period.end is not None:  # its dates are not this turn's
            return replace(period, spans=(), present=False, change=False, history=False)
    return scope


def _describes(question: str, span: tuple[int, int]) -> bool:
    """True when the date at ``span`` describes the word after it ("the 2024 election")."""
    return _DESCRIBES.match(question, span[1] - 4) is not None and not _PREPOSITION.search(
        question, 0, span[0]
    )


def without_dates(text: str, today: dt.date) -> str:
    """``text`` with the dates of its time scope blanked out (not those after ``today``)."""
    return time_scope(text, today).without_dates(text)


def _periods(question: str, today: dt.date) -> list[tuple[tuple[int, int], dt.date, dt.date]]:
    """The dates of ``question``: (characters, first day, last day), in order."""
    found = search_dates(question, languages=["en"], settings=_settings(today)) or []
    periods = []
    position = 0
    for text, _ in found:
        text = _CLAUSE_END.split(text, maxsplit=1)[0]  # "March 8, 2024: The" is "March 8, 2024"
        begin = question.find(text, position)
        if begin < 0:
            continue
        end = begin + len(text)
        if after := _YEAR_AFTER.match(question, end):  # "September 29" of "September 29, 2023"
            end = after.end()
        text = question[begin:end]
        if not _DATE_LIKE.search(text):
            continue
        position = end
        if leading := _LEADING.match(text):
            begin += leading.end()
        if month := _MONTH_BEFORE.search(question, 0, begin):
            begin = month.start()
        text = question[begin:position]
        period = _period(text.strip(), today)
        if period is not None:
            periods.append(((begin, position), *period))
    for match in _YEAR.finditer(question):  # "mid-2022", which dateparser misses
        if not any(s <= match.start() < e for (s, e), _, _ in periods):
            year = int(match.group())
            periods.append(
                ((match.start(), match.end()), dt.date(year, 1, 1), dt.date(year, 12, 31))
            )
    return sorted(periods, key=lambda p: p[0])


def _as_of_day(
    question: str, periods: list[tuple[tuple[int, int], dt.date, dt.date]]
) -> dt.date | None:
    """The last day of the dated period right after "as of" that names its year."""
    for (begin, end), _, last in periods:
        if _AS_OF_BEFORE.search(question, 0, begin) and _YEAR.search(question, begin, end):
            return last
    return None


def _period(text: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    if years := _YEARS.match(text):
        first = int(years.group(1))
        return dt.date(first, 1, 1), dt.date(first // 100 * 100 + int(years.group(2)), 12, 31)
    data = _parser(today).get_date_data(text)
    if data.date_obj is None:
        return None
    day = data.date_obj.date()
    if data.period == "week":  # the seven days to the day named
        return day - dt.timedelta(days=6), day
    if data.period == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    if data.period == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    return day, day


def _part_of(part: str, year: int) -> tuple[dt.date, dt.date]:
    first, last, day = _PARTS[part.lower()]
    return dt.date(year, first, 1), dt.date(year, last, day or calendar.monthrange(year, last)[1])


def _settings(today: dt.date) -> dict[str, object]:
    return {
        "RELATIVE_BASE": dt.datetime.combine(today, dt.time()),
        "PREFER_DATES_FROM": "past",
        "STRICT_PARSING": False,
    }


@cache
def _parser(today: dt.date) -> DateDataParser:
    return DateDataParser(languages=["en"], settings=_settings(today))


def is_year(word: str) -> bool:
    """True when ``word`` is a year ("2100"), which a text may put in other words."""
    return _YEAR.fullmatch(word) is not None


def parse_date(published: str) -> dt.date | None:
    """The date of an ISO ``published`` value (``2025-05-23``); None when absent or invalid."""
    try:
        return dt.date.fromisoformat(published[:10])
    except ValueError:
        return None


def format_date(published: str) -> str:
    """``2025-05-23`` as ``23 May 2025``; "undated" when there is no valid date."""
    date = parse_date(published)
    return f"{date.day} {date:%B %Y}" if date else "undated"


def recency_key(published: str) -> int:
    """A sort key putting the most recent date first and undated sources last."""
    date = parse_date(published)
    return -date.toordinal() if date else 1
