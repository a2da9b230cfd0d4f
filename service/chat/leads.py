"""Which sentences lead an extractive answer, and which follow.

Sources with different dates, and questions about the present or about change, are answered
newest first: "As of 23 May 2025: ... Earlier, on 7 February 2025: ...". A present-tense
question for a name ("Who is ...?") is led by the newest source that addresses it too; any
other present-tense question by the newest source that answers it nearly as well as the best.
A "who" question is answered with a person's name where a source's sentence close to its best
names one, or the next sentence names the person its best introduces ("A federal judge ...").
A "which" question names what it asks for ("which country"): of the sentences that answer
nearly as well as the best, the one naming something closest in meaning to it leads, not one
naming a person (a spokesperson quoted does not answer "which state"). A
question asking what did not happen ("Which of them has not sent officers?", by spaCy's parse)
is led by the best of those that negates what it says.
"""

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from service.chat import weights
from service.chat.compose import continues, opens_article
from service.chat.dates import parse_date, recency_key
from service.chat.evidence import Sentence, content_terms
from service.chat.expected import Kind, asked_noun, name_runs, person_named
from service.chat.grammar import negated
from service.chat.names import Embed, similarities
from service.chat.ranking import Scored
from service.retrieval import Passage

MAX_SENTENCES = 5
MAX_PER_DOCUMENT = 2
_VALUES = (Kind.FIGURE, Kind.MONEY, Kind.DATE)


def mark_persons(
    ranked: Sequence[Scored], question: str, passages: Sequence[Passage]
) -> list[Scored]:
    """``ranked``, marking the sentences that name a person ``question`` does not
    (:func:`person_named`) and those introducing one that the next sentence names (with a
    word of what the question asks about, when it says: "which federal judge"): news
    introduces someone before naming them ("A federal judge blocked ...", then "US District
    Judge Adrienne Nelson granted ...")."""
    written = {w for p in passages for w in re.findall(r"[\w-]+", f"{p.title} {p.text}")}
    noun = set(content_terms(asked_noun(question)))
    marked = [replace(s, person=person_named(s.sentence.text, question, written)) for s in ranked]
    naming = {
        (id(s.sentence.passage), s.sentence.position)
        for s in marked
        if s.person and (not noun or noun & set(content_terms(s.sentence.text)))
    }
    return [s if s.person else replace(s, introduces=_next_place(s) in naming) for s in marked]


def persons_first(marked: Sequence[Scored]) -> list[Scored]:
    """``marked`` (:func:`mark_persons`) with, in each document's places, the sentences naming
    or introducing a person that score :data:`weights.KIND_RATIO` of its best first: "who"
    is most often asked of a person ("Silvana Tenreyro was the only member who ..." before
    "The Bank of England raised rates ...")."""
    best: dict[str, float] = {}
    for s in marked:
        best[s.document_id] = max(best.get(s.document_id, 0.0), s.evidence)
    first = [
        s
        for s in marked
        if (s.person or s.introduces) and s.evidence >= weights.KIND_RATIO * best[s.document_id]
    ]
    queues = {doc: [s for s in first if s.document_id == doc] for doc in best}
    for s in marked:
        if not any(s is t for t in first):
            queues[s.document_id].append(s)
    return [queues[s.document_id].pop(0) for s in marked]


def typed_first(ranked: Sequence[Scored], noun: str, asked: str, embed: Embed) -> list[Scored]:
    """``ranked`` led by the sentence, among those scoring :data:`weights.KIND_RATIO` of the best,
    that names something closest in meaning (by ``embed``) to the ``noun`` a "which" question
    asks for: "Which country ..." by the sentence naming Iran, not the one naming "the James W.
    Foley Legacy Foundation"; a sentence introducing someone counts the names of the next."""
    asked_terms = set(content_terms(asked))
    text = {(id(s.sentence.passage), s.sentence.position): s.sentence.text for s in ranked}
    top = _near_best(ranked)
    names: dict[int, list[str]] = {}
    for s in top:
        said = s.sentence.text + (" " + text.get(_next_place(s), "") if s.introduces else "")
        runs = (" ".join(run) for run in name_runs(said))
        names[id(s)] = [r for r in runs if (t := set(content_terms(r))) and not t <= asked_terms]
    candidates = sorted({n for found in names.values() for n in found})
    if not candidates:
        return list(ranked)
    closeness = dict(zip(candidates, similarities(embed, [noun], candidates)[0], strict=True))
    first = max(top, key=lambda s: max((closeness[n] for n in names[id(s)]), default=-1.0))
    return _led_by(first, ranked)


def negated_first(ranked: Sequence[Scored]) -> list[Scored]:
    """``ranked`` led by the best sentence that negates what it says ("The Bahamas has not sent
    any officers"), among those scoring :data:`weights.KIND_RATIO` of the best: a question
    asking what did not happen is not answered by what did ("Kenya and Belize have deployed
    theirs")."""
    top = _near_best(ranked)
    saying = [s for s, no in zip(top, negated([s.sentence.text for s in top]), strict=True) if no]
    return _led_by(saying[0], ranked) if saying else list(ranked)


def _near_best(ranked: Sequence[Scored]) -> list[Scored]:
    """The sentences of ``ranked`` scoring :data:`weights.KIND_RATIO` of the best's evidence."""
    return (
        [s for s in ranked if s.evidence >= weights.KIND_RATIO * ranked[0].evidence]
        if ranked
        else []
    )


def _led_by(lead: Scored, ranked: Sequence[Scored]) -> list[Scored]:
    """``ranked`` with ``lead`` moved first."""
    return [lead, *(s for s in ranked if s is not lead)]


def _next_place(scored: Scored) -> tuple[int, int]:
    """Where the next sentence of ``scored``'s passage is: the passage and a position."""
    return id(scored.sentence.passage), scored.sentence.position + 1


def newest_first(ranked: Sequence[Scored], kind: Kind, ratio: float | None = None) -> list[Scored]:
    """``ranked`` led by the best sentence of the newest dated source that addresses the
    question (scores :data:`weights.ADDRESS_RATIO` of the best dated one): the current position, not
    the newest source that shares a word with the question. A value (a figure, an amount, a
    date) is stated in many words ("its final bill" for "what it will cost"): on a question
    asking for one, a sentence holding one that is :data:`weights.VALUE_RATIO` as close in meaning
    to the question as the closest addresses it too. Undated sources never win on recency,
    nor raise the bar, except with a ``ratio``: then the newest must score that share of the
    best sentence of any source, undated ones included; when none does, ``ranked`` stays as
    it is."""
    dated = [s for s in ranked if parse_date(s.sentence.passage.published) is not None]
    if not dated:
        return list(ranked)
    if ratio is None:
        bar = weights.ADDRESS_RATIO * max(s.evidence for s in dated)
    else:
        bar = ratio * max(s.evidence for s in ranked)
    near = weights.VALUE_RATIO * max(s.meaning for s in dated) if kind in _VALUES else math.inf
    addressing = [s for s in dated if s.evidence >= bar or s.meaning >= near]
    if not addressing:  # the best answer is undated and no dated source comes close
        return list(ranked)
    newest = min(addressing, key=lambda s: recency_key(s.sentence.passage.published))
    lead = next(s for s in ranked if s.document_id == newest.document_id)
    return _led_by(lead, ranked)


def select(ranked: Sequence[Scored], temporal: bool, kind: Kind = Kind.ANY) -> list[Sentence]:
    """The best sentence, the sentences scoring close to it, and the sentences continuing them.

    On a question about time, the newest source that addresses the question leads, with its
    news (its first sentences and, on a question for a name, its best other sentence naming a
    person, when they score close enough: who resigned, then who took over; on a question for
    a kind of answer, also its sentence closest in meaning when closer than those), and the answer
    gives the history: the best sentence of every other document that scores close enough, the
    oldest (where a change starts) and the newest (the latest change) among them. The news does
    not count against :data:`MAX_SENTENCES`, so it never pushes the history out.
    """
    if temporal:
        ranked = newest_first(ranked, kind)
    best = ranked[0]
    chosen = [best]
    news: list[Scored] = []  # the leading source's first sentences and persons, beside its best
    if temporal:
        close = [c for c in ranked if c.score >= weights.TIMELINE_RATIO * best.score]
        for candidate in close:
            if candidate.document_id not in {c.document_id for c in chosen}:
                chosen.append(candidate)
        ours = [c for c in close if c.document_id == best.document_id]
        # its first sentences, on a question for a name the best other naming a person, and on
        # one for any kind of answer its sentence closest in meaning when closer than those
        person = next((c for c in ours if c.person and not opens_article(c.sentence)), None)
        news = [c for c in ours if opens_article(c.sentence) or c is person]
        closest = max(ours, key=lambda c: c.meaning)
        if kind is not Kind.ANY and all(closest.meaning > c.meaning for c in news):
            news.append(closest)  # "Where is it now?": "... reached its orbit around ..."
        chosen = _with_ends(chosen, close)
    for candidate in ranked:
        per_document = Counter(c.document_id for c in chosen)
        if len(chosen) >= MAX_SENTENCES:
            break
        if (
            candidate not in chosen
            and candidate.score >= weights.KEEP_RATIO * best.score
            and per_document[candidate.document_id] < MAX_PER_DOCUMENT
        ):
            chosen.append(candidate)
    chosen = [best, *news, *chosen[1:MAX_SENTENCES]]
    sentences = list(dict.fromkeys(c.sentence for c in chosen))
    for scored in dict.fromkeys(chosen):
        following = _following(scored, ranked)
        if following is not None and following not in sentences:
            sentences.insert(sentences.index(scored.sentence) + 1, following)
    return sentences


def _with_ends(chosen: list[Scored], close: Sequence[Scored]) -> list[Scored]:
    """``chosen``, whose history keeps the oldest dated document of ``close`` (where a change
    starts) and the newest before the lead's (the latest change) within :data:`MAX_SENTENCES`
    when there are more documents than places."""
    lead = chosen[0]
    dated = [
        c
        for c in close
        if parse_date(c.sentence.passage.published) is not None
        and recency_key(c.sentence.passage.published) > recency_key(lead.sentence.passage.published)
    ]
    if len(chosen) <= MAX_SENTENCES or not dated:
        return chosen
    ends = dict.fromkeys(
        min(dated, key=lambda c: sign * recency_key(c.sentence.passage.published)).document_id
        for sign in (-1, 1)  # the oldest, then the newest
    )
    firsts = [next(c for c in chosen if c.document_id == end) for end in ends]
    missing = [c for c in firsts if chosen.index(c) >= MAX_SENTENCES]
    rest = [c for c in chosen if c not in missing]
    room = MAX_SENTENCES - len(missing)
    return [*rest[:room], *missing, *rest[room:]]


def _following(chosen: Scored, ranked: Sequence[Scored]) -> Sentence | None:
    """The next sentence of the passage when it continues ``chosen`` ("This measure ..."), or
    names the person ``chosen`` introduces ("A federal judge blocked ...", then "US District
    Judge Adrienne Nelson granted ...")."""
    sentence = chosen.sentence
    for scored in ranked:
        candidate = scored.sentence
        if (
            candidate.passage is sentence.passage
            and candidate.position == sentence.position + 1
            and (continues(candidate.text) or chosen.introduces)
        ):
            return candidate
    return None
