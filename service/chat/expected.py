"""What kind of answer a question expects, and whether a sentence holds one.

"Who" and "which" ask for a name, "when" for a date ("on what date" for one with its day, not
"later this year"), "how many" / "how much" for a figure, of what it counts when it says
("how much towing capacity"; an amount of money when it asks for money, a cost, a price, a fee
or a budget), "where"
for a place (a name). A sentence holds the answer only when it has a candidate of that
kind which the question itself does not already name: the leader of the second mission does
not answer "who leads the third?" unless a new name is there, and "how many stores" is not
answered by a sentence without a figure.
"""

import calendar
import re
from collections.abc import Set
from enum import Enum
from functools import lru_cache

from service.chat.evidence import content_terms
from service.lexical import tokenize_remembered
from service.memo import CACHED_TEXTS

_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty "
    "fifty hundred hundreds thousand thousands million millions billion billions trillion dozen "
    "dozens half quarter"
)
_FIGURE = re.compile(rf"\d[\d,.]*\d|\d|\b({'|'.join(_NUMBER_WORDS.split())})\b", re.IGNORECASE)
_MONTHS = "|".join(calendar.month_name[1:])
_DAY_OF_MONTH = rf"\b\d{{1,2}}\s+({_MONTHS})\b|\b({_MONTHS})\s+\d{{1,2}}\b"  # "24 May", "May 24"
_DATE = re.compile(
    rf"\b(1[89]|2\d)\d\d\b|\b({_MONTHS}|{'|'.join(calendar.day_name)})\b"
    r"|\b(spring|summer|autumn|winter|next year|this year|last year)\b",
)
_MONEY = re.compile(
    r"[$€£¥]\s?\d[\d,.]*\w*|\b(USD|EUR|GBP|Ksh|Sh)\s?\d[\d,.]*\w*"
    r"|\d[\d,.]*\s*(million|billion|bn|m)?\s*(dollars|euros|pounds|yen)\b",
)
_DAY_OR_YEAR = re.compile(rf"{_DAY_OF_MONTH}|\b(in|since|from|until|by)\s+(1[89]|2\d)\d\d\b")
_ASKED = re.compile(
    r"\b(how many|how much|what|which)\s+([\w’'-]+(?:\s+[\w’'-]+){0,2})", re.IGNORECASE
)
# Words a clause may have besides its date and still say little but it ("the club said on
# Monday"); "reversing a negative opinion it issued in July" (4) says what happened then.
# Calibrated on newsdesk, haiti-mss and webb-telescope as a whole.
_BARE_CLAUSE = 1
_CLAUSE = re.compile(r"[;:()—–]|,\s|\s-\s")  # "1,425,775,850" is one figure
_DAY = re.compile(rf"{_DAY_OF_MONTH}|\b\d{{4}}-\d\d-\d\d\b")
# A figure written after a capitalised word inside a sentence is part of a name ("a Porsche 911",
# "Max 9"), wherever else the sentence writes it ("towing another 911"): not a count.
_NAMED_FIGURE = re.compile(r"(?<=\S)\s+[A-Z][\w-]*\s+(\d[\d,.]*\d|\d)\b")
_PARTICLE = re.compile(r"\s+[a-z]{2,3}\s+")  # inside a name: "Erik ten Hag", "Louis van Gaal"
_CAPITALISED = re.compile(r"\b[A-Z][\w’'&.-]*[\w]|\b[A-Z]\b")


class Kind(Enum):
    NAME = "name"
    PLACE = "place"  # a name, or a figure for a position on a scale ("where was the rate?")
    DATE = "date"
    DAY = "day"  # a date with its day: "on what date"
    FIGURE = "figure"
    MONEY = "money"
    ANY = "any"


# The question word that opens the question's main clause decides; a later "when" or "cost"
# belongs to a subordinate clause ("what was added when the FDA ...", "which loss cost ...").
_HEAD = re.compile(r"\b(how many|how much|when|where|who|whom|whose|which|what)\b", re.IGNORECASE)
_HEADS = {"who": Kind.NAME, "whom": Kind.NAME, "whose": Kind.NAME, "which": Kind.NAME}
_HEADS |= {"when": Kind.DATE, "where": Kind.PLACE, "how many": Kind.FIGURE, "how much": Kind.FIGURE}
# What "what" or "how much" asks for, from the noun that follows it ("what year", "what price").
_WHAT = [
    (
        r"^(?!.*\b(say|said|says|about)\b).*\b(budget|cost|costs|price|salary|fee|compensation|"
        r"severance|damages|money)\b",
        Kind.MONEY,
    ),
    (r"^\W*date\b", Kind.DAY),  # "what day" may ask for a weekday
    (r"^\W*(year|month|day)\b", Kind.DATE),
    (r"^\W*(percentage|share|figure|number)\b", Kind.FIGURE),
]
# Without a question word, a question naming a date asks for dates, a month's too ("autumn 2019").
_DATE_NOUN = re.compile(r"\bdates?\b", re.IGNORECASE)


def expected_kind(question: str) -> Kind:
    """The kind of answer ``question`` asks for (ANY when its form does not tell)."""
    head = _HEAD.search(question)
    word = head.group().lower() if head else ""
    if word in ("", "what", "how much"):  # "how has the price changed?" asks for amounts too
        rest = question[head.end() :] if head else question
        for pattern, kind in _WHAT:
            if re.search(pattern, rest, re.IGNORECASE):
                return kind
        if not head and _DATE_NOUN.search(question):  # "how has the launch date changed?"
            return Kind.DATE
    return _HEADS.get(word, Kind.ANY)


def holds_answer(kind: Kind, sentence: str, question: str) -> bool:
    """True when ``sentence`` has a candidate of ``kind`` that ``question`` does not name."""
    if kind is Kind.ANY:
        return True
    asked = _words(question)
    if kind is Kind.PLACE:
        return holds_answer(Kind.NAME, sentence, question) or holds_answer(
            Kind.FIGURE, sentence, question
        )
    if kind is Kind.NAME:
        words = [
            m.group() for m in _CAPITALISED.finditer(sentence) if not _DATE.fullmatch(m.group())
        ]
        names = tokenize_remembered(words or [""])
        return any(terms and not set(terms) <= asked for terms in names)
    if kind is Kind.MONEY:
        return any(_plain(m.group()) not in asked for m in _MONEY.finditer(sentence))
    if kind is Kind.DAY:
        return any(_plain(m.group()) not in asked for m in _DAY.finditer(sentence))
    if kind is Kind.DATE:
        return any(_plain(m.group()) not in asked for m in _DATE.finditer(sentence))
    return _has_figure(sentence, asked)


def name_runs(sentence: str) -> list[list[str]]:
    """The runs of adjacent capitalised words of ``sentence``, dates left out: "US District
    Judge Adrienne Nelson", "Erik ten Hag" (as "Erik", "Hag")."""
    runs: list[list[str]] = []
    end = -1
    for match in _CAPITALISED.finditer(sentence):
        word = match.group()
        if _DATE.fullmatch(word):
            end = -1
            continue
        between = sentence[end : match.start()]
        if runs and end >= 0 and (not between.strip() or _is_particle(between)):
            runs[-1].append(word)
        else:
            runs.append([word])
        end = match.end()
    return runs


def _is_particle(text: str) -> bool:
    """True for a short lower-case word that is no function word ("ten", "van"; not "of")."""
    return bool(_PARTICLE.fullmatch(text) and content_terms(text))


def person_named(sentence: str, question: str, written: set[str]) -> bool:
    """True when ``sentence`` names a person ``question`` does not: two capitalised words of a
    run, new to the question, that the passages (their words as ``written``) never write in
    lower case, in a run whose initials they do not write ("Adrienne Nelson"; not "Federal
    Trade Commission" when they say "FTC", nor "Bank Rate" when they say "the rate")."""
    asked = _words(question)
    common = written | asked
    for run in name_runs(sentence):
        words = [re.sub(r"[’']s$", "", word) for word in run if content_terms(word)]
        initials = "".join(w[0] for w in words)
        if initials in written or initials.lower() in asked:
            continue
        proper = [w.lower() not in common for w in words]
        if any(a and b for a, b in zip(proper, proper[1:], strict=False)):
            return True
    return False


def _has_figure(text: str, asked: Set[str]) -> bool:
    """True when ``text`` has a figure, not part of a date, that is not among ``asked``."""
    undated = _DAY_OR_YEAR.sub(" ", text)  # a count is not a date
    named = asked | {_plain(m.group(1)) for m in _NAMED_FIGURE.finditer(undated)}
    return any(_plain(m.group()) not in named for m in _FIGURE.finditer(undated))


@lru_cache(maxsize=CACHED_TEXTS)
def _words(text: str) -> frozenset[str]:
    """The words and figures of ``text`` as written (lower case) and as stemmed terms."""
    plain = {_plain(w) for w in re.findall(r"[\w.,]+", text)}
    return frozenset(plain | set(tokenize_remembered([text])[0]))


def _plain(word: str) -> str:
    return word.lower().strip(".,").replace(",", "")


def asked_noun(question: str) -> str:
    """What the question word asks about: its words up to the next function word ("mortgage
    holders" in "how many mortgage holders were ...", "safety caution" in "what safety
    caution was ..."); "" when none follows it ("what is ...")."""
    return _asked(question)[1]


def counted(question: str) -> str:
    """What "how many" or "how much" counts ("mortgage holders", "towing capacity"); "" when
    the question does not ask it."""
    word, noun = _asked(question)
    return noun if word in ("how many", "how much") else ""


def _asked(question: str) -> tuple[str, str]:
    match = _ASKED.search(question)
    if match is None:
        return "", ""
    words: list[str] = []
    for word in match.group(2).split():
        if not content_terms(word):
            break
        words.append(word)
    return match.group(1).lower(), " ".join(words)


def answer_clauses(kind: Kind, sentence: str, question: str) -> list[str]:
    """The clauses of ``sentence`` holding a candidate of ``kind`` that ``question`` does not
    name: where what a figure counts, or what happened on a date, is written. A clause saying
    little but its date ("On 6 January, the FDA ...", "..., the club said on Monday") comes with
    the clauses next to it."""
    clauses = _CLAUSE.split(sentence)
    found = []
    for i, clause in enumerate(clauses):
        if holds_answer(kind, clause, question):
            bare = len(content_terms(_DATE.sub(" ", _DAY.sub(" ", clause)))) <= _BARE_CLAUSE
            found.append(" ".join(clauses[max(i - 1, 0) : i + 2]) if bare else clause)
    return found
