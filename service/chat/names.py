"""The names a question uses, as the retrieved passages write them, or do not.

A name may be mentioned as written, by its initials or spelled out ("US", "United States";
"MPC", "Monetary Policy Committee"), or be another name for what a retrieved document is about
("Britain's" for the Bank of England: its vector is close to the title). A name none of these
reach is unknown, and the answer abstains (:mod:`service.chat.extractive`). A language or
nationality word ("the American planemaker", "a French stadium") only describes what the
question asks about: it is no name a passage has to mention, nor is a country modifying a noun
("the US House"), nor a figure that a word bounds ("more than 40 years", which a passage may
write as "four decades").
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from babel import Locale
from babel.core import get_global
from babel.languages import get_official_languages

from service.chat.condense import Standalone
from service.chat.dates import is_year
from service.chat.evidence import Name, Reading, names_in
from service.chat.grammar import parsed
from service.retrieval import Passage

if TYPE_CHECKING:
    from spacy.tokens import Token

# A name no passage mentions still refers to a retrieved document when its vector is this close
# to the document's title ("Britain's" 0.29 to "Bank of England ...", "Red Devils" 0.21 to
# "... Manchester United interim boss"); unrelated names score lower ("European Central" 0.13).
# A country or region is never another name for what the documents are about: MiniLM puts
# countries close to each other ("Nigeria" to "... Kenya-led Haiti mission" over 0.2). Checked
# held out with the answerer's other constants (service/evaluate/constants_fit.py).
TITLE_SIMILARITY = 0.2

_BOUNDING = {"advmod", "amod", "quantmod"}  # "nearly" 40, "more" (than) 200, "over" 40
_MODIFIER = {"compound", "amod", "nmod"}  # "US" House, "UK" island
Embed = Callable[[list[str]], list[list[float]]]  # texts to unit vectors: an embedder's method


@dataclass(frozen=True)
class Names:
    """The names of a question as the passages write them (:func:`names_in`).

    ``absent``: mentioned by no passage; ``unknown``: of those, the ones that refer to no
    retrieved document either (:func:`unrecognised`); ``known``: the names a passage should
    mention to answer well (acronyms as the passages write them, and a follow-up's referent);
    ``places``: the absent countries and nationalities that only describe what is asked
    (:func:`place_modifiers`, :func:`nationalities`), unless the evidence contests them.
    """

    absent: list[Name]
    unknown: list[Name]
    known: list[Name]
    places: list[Name] = field(default_factory=list)

    def contested(self, text: str) -> "Names":
        """These names, counting the places that describe what is asked (:func:`place_modifiers`,
        :func:`nationalities`) as unknown when ``text`` (the best evidence) names another
        country: "Germany's minimum wage" does not answer for "the Canada minimum wage" nor
        for "the French minimum wage". A word of a wider region ("European") contests none."""
        if not self.places or any(
            _nationality_countries().get(n.text) == frozenset() for n in self.places
        ):
            return self
        meant = {w for n in self.places for w in _countries_meant(n.text)}
        named = (m.group().lower().split() for m in _country_pattern().finditer(text))
        if all(set(words) <= meant for words in named):
            return self
        return replace(self, unknown=[*self.unknown, *self.places])


def question_names(
    question: Standalone,
    asked: str,
    reading: Reading,
    passages: Sequence[Passage],
    embed: Embed | None,
) -> Names:
    """The names of ``asked`` (the question without its dates), sorted by what the passages
    say of them."""
    names = names_in(asked)
    contexts = reading.contexts.values()
    absent = [n for n in names if not any(n.mentioned_in(c) for c in contexts)]
    acronyms = abbreviated(asked, names, passages)
    spelled = [word for words, _ in acronyms for word in words]
    # a nationality describes what is asked about ("the American planemaker"), and a bound may
    # be written in other words ("more than 40 years": "four decades"): a passage need not
    # write them
    bounds = bounded(asked)
    described = [n for n in names if n.text in nationalities() or n.text in bounds]
    modifiers = place_modifiers(asked) if absent else set()
    places = [
        n for n in absent if n not in spelled and (n.text in modifiers or n.text in nationalities())
    ]
    unknown = unrecognised(
        asked, [n for n in absent if n not in spelled + described + places], passages, embed
    )
    # a year is a period a passage may write in other words ("by the end of the century"):
    # only a passage without the question's other names is weaker evidence
    known = [n for n in names if n not in absent + spelled + described and not is_year(n.text)]
    known += [name for _, name in acronyms] + _referred(question)
    return Names(absent, unknown, known, places)


def bounded(question: str) -> set[str]:
    """The figures of ``question`` that a word bounds or approximates, by spaCy's parse: "more
    than 200", "nearly 40", "over 40 years". A question without a figure is not parsed."""
    if not any(c.isdigit() for c in question):
        return set()
    doc = parsed(question)
    bound = [t for t in doc if t.like_num and any(_bounds(w) for w in t.children)]
    return {w.text for t in bound for w in t.subtree if w.like_num}


def place_modifiers(question: str) -> set[str]:
    """The words of ``question`` naming a country or region, or its code, that modify a noun,
    by spaCy's parse: "the US House", "which United States agency" describe what is asked
    about as "American" would. A code counts when it is the country's initials
    (:func:`_country_initials`)."""
    doc = parsed(question)
    words: set[str] = set()
    for end, token in enumerate(doc):
        if token.dep_ not in _MODIFIER:
            continue
        start = end
        while start > 0 and doc[start - 1].dep_ == "compound":  # "United" States
            start -= 1
        for first in range(start, end + 1):  # the longest run naming a place
            if _names_place(doc[first : end + 1].text):
                words.update(t.text for t in doc[first : end + 1])
                break
    return words


def _names_place(word: str) -> bool:
    return word.lower() in places() or word in _country_initials()


@cache
def _country_initials() -> frozenset[str]:
    """The codes of countries (and groups of them) that are the initials of their names, as
    texts abbreviate them: "US", "UK", "EU", "UN", "NZ"; not "AI" (Anguilla) nor "IT" (Italy),
    which stand for other things."""
    return frozenset(
        code
        for code, name in _country_names().items()
        if code == "".join(w[0] for w in re.findall(r"[A-Z][a-z]+", name))
    )


@cache
def _country_names() -> dict[str, str]:
    """The English names of countries and groups of them by their codes and the codes' aliases
    in use (CLDR's, through Babel): "US": "United States", "UK": "United Kingdom", "EU":
    "European Union"."""
    names = Locale("en").territories
    aliases = {a: names[c[0]] for a, c in get_global("territory_aliases").items() if c[0] in names}
    return {c: n for c, n in {**aliases, **names}.items() if re.fullmatch(r"[A-Z]{2}", c)}


def _countries_meant(word: str) -> set[str]:
    """The words, lower case, of the countries ``word`` stands for: itself, the country of its
    code ("US"), or those of its nationality ("French")."""
    meant = [word, _country_names().get(word, ""), *_nationality_countries().get(word, ())]
    return {w for name in meant for w in name.lower().split()}


@cache
def _country_pattern() -> re.Pattern[str]:
    """Any country's name as texts write it ("Germany", "South Korea")."""
    names = sorted(set(_country_names().values()), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b")


def _bounds(word: "Token") -> bool:
    return word.is_alpha and word.dep_ in _BOUNDING


@cache
def nationalities() -> frozenset[str]:
    """Words naming a language or a nationality, which describe what a question asks about
    rather than name it (:func:`_nationality_countries`), less the names of countries and
    regions ("Nauru", "Congo" Swahili, "Simplified" Chinese is a script's)."""
    return frozenset(w for w in _nationality_countries() if w.lower() not in places())


@cache
def _nationality_countries() -> dict[str, frozenset[str]]:
    """From CLDR (through Babel): the English names of the languages some country speaks
    officially ("French", "Norwegian", "Japanese"), each with the countries that speak it,
    and the word a regional variant puts before its language ("American" English), with the
    variant's country; none for a word the variants of several countries share, which names a
    wider region ("European" Spanish and Portuguese)."""
    names, regions = Locale("en").languages, Locale("en").territories
    countries: dict[str, set[str]] = {}
    for place in regions:
        for code in get_official_languages(str(place)):
            if code in names and " " not in names[code]:
                countries.setdefault(names[code], set()).add(regions[place])
    variants: dict[str, set[str]] = {}
    for code, name in names.items():
        base, _, region = code.partition("_")
        first, _, rest = name.partition(" ")
        if rest == names.get(base) and not regions.get(region, first).startswith(first):
            variants.setdefault(first, set()).add(regions.get(region, ""))
    for word, found in variants.items():
        countries[word] = countries.get(word, set()) | found if len(found) == 1 else set()
    return {word: frozenset(c for c in found if c) for word, found in countries.items()}


def unrecognised(
    question: str, absent: Sequence[Name], passages: Sequence[Passage], embed: Embed | None
) -> list[Name]:
    """The names of ``absent`` (mentioned by no passage) that refer to no retrieved document.

    A name written in other words than the documents' ("Britain's" for the Bank of England,
    "Nairobi" for Kenya) can still be what a document is about: a run of adjacent absent words
    whose vector is within :data:`TITLE_SIMILARITY` of a retrieved document's title is
    recognised, unless it is the name of a country or region (:func:`places`). Figures never
    are. MiniLM links few such names (not "Threadneedle Street").
    """
    words = [n for n in absent if n.terms]
    titles = list(dict.fromkeys(p.title for p in passages))
    if embed is None or not words or not titles:
        return list(absent)
    runs = [run for run in _runs(question, words) if not _is_place(run)]
    if not runs:
        return list(absent)
    phrases = [" ".join(n.text for n in run) for run in runs]
    closest = similarities(embed, phrases, titles).max(axis=1)
    recognised = {
        id(n)
        for run, sim in zip(runs, closest, strict=True)
        if sim >= TITLE_SIMILARITY
        for n in run
    }
    return [n for n in absent if id(n) not in recognised]


@cache
def places() -> frozenset[str]:
    """The English names of the world's countries and regions (CLDR's, through Babel), lower
    case: "nigeria", "south korea", "united states", "western europe"."""
    return frozenset(name.lower() for name in Locale("en").territories.values())


def _is_place(run: Sequence[Name]) -> bool:
    """True when the words of ``run`` ("South", "Korea's") name a country or region."""
    text = " ".join(n.text for n in run).lower()
    return re.sub(r"[’']s$", "", text) in places()


def similarities(embed: Embed, texts: list[str], others: list[str]) -> np.ndarray:
    """The cosine similarity of each of ``texts`` (rows) to each of ``others`` (columns)."""
    vectors = np.asarray(embed(texts + others), np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors[: len(texts)] @ vectors[len(texts) :].T


def abbreviated(
    question: str, names: Sequence[Name], passages: Sequence[Passage]
) -> list[tuple[list[Name], Name]]:
    """The ``names`` that the passages also write as initials, or spell out: "United States"
    when they say "US" (or "U.S."), "MPC" when they say "Monetary Policy Committee".

    Each comes as the question's words and the name they form, which is mentioned where
    either way of writing it is.
    """
    texts = [text for p in passages for text in (p.title, p.text)]
    found: list[tuple[list[Name], Name]] = []
    for run in _runs(question, [n for n in names if n.terms]):
        words = " ".join(n.text for n in run)
        if len(run) > 1:
            initials = "".join(n.text[0] for n in run)  # capitals: names are capitalised words
            dotted = re.escape(".".join(initials) + ".")
            written = _first(rf"\b(?:{initials}\b|{dotted})", texts)
        elif re.fullmatch(r"[A-Z]{2,6}", words):
            between = r"\s+(?:(?:of|and|for|the|on)\s+)?"
            written = _first(r"\b" + between.join(rf"{c}[\w'-]+" for c in words) + r"\b", texts)
        else:
            written = None
        if written is not None:
            terms = frozenset(t for n in run for t in n.terms)
            found.append((run, Name(words, terms, frozenset(), (Name.written(written),))))
    return found


def _first(pattern: str, texts: Sequence[str]) -> str | None:
    """The first match of ``pattern`` in ``texts``, if any."""
    for text in texts:
        if match := re.search(pattern, text):
            return match.group()
    return None


def _runs(question: str, names: Sequence[Name]) -> list[list[Name]]:
    """``names`` grouped into the runs of adjacent words of ``question`` ("Red", "Devils")."""
    runs: list[list[Name]] = []
    for name in names:
        previous = runs[-1][-1].text if runs else None
        if previous is not None and re.search(
            rf"{re.escape(previous)}\s+{re.escape(name.text)}", question
        ):
            runs[-1].append(name)
        else:
            runs.append([name])
    return runs


def _referred(question: Standalone) -> list[Name]:
    """The name "he", "she" or "they" of a follow-up stands for, as a name it uses: a passage
    that does not mention it is weaker evidence."""
    if not question.referent:
        return []
    return [Name.written(question.referent)]
