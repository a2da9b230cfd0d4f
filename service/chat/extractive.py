"""Extractive answers: sentences of the retrieved passages, quoted verbatim, dated and cited.

Sentences are ranked by how much of the question they cover (lexically, see
:mod:`service.chat.evidence`) and by their similarity to it (sentence vectors stored at
ingest), helped by their passage's coverage and similarity to the query and by being an
article's lead, and weakened when their passage does not mention the names the question uses.
The question's dates are its time scope (:mod:`service.chat.dates`), never words to match:
"as of" a date, the sources published by then answer when they answer well enough. The answer
abstains when even the best sentence is weak evidence or lacks the kind of answer asked for
(a figure for "how many", a date for "when", a name for "who": :mod:`service.chat.expected`;
"how many X" needs a figure of X, "when" a date of what it asks about), or when the question
names something no passage mentions (not even by its initials, or spelled out) and no
retrieved title is close to (unless it asks "why": then the premise is corrected). Sources
with different dates, and questions about the present or about change, are answered newest
first: "As of 23 May 2025: ... Earlier, on 7 February 2025: ...". A present-tense question for
a name ("Who is ...?") is led by the newest source that addresses it too; any other
present-tense question by the newest source that answers it nearly as well as the best. A
question for a name is answered with a person's name where a source's sentence close to its
best names one, or the next sentence names the person its best introduces ("A federal judge
..."). A "which" question names what it asks for ("which country"): of the sentences that
answer nearly as well as the best, the one naming something closest in meaning to it leads. A
question asking what did not happen ("Which of them has not sent officers?", by spaCy's parse)
is led by the best of those that negates what it says.
"""

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from service.chat.abstention import Signals, shipped
from service.chat.citations import MarkerRewriter, cite
from service.chat.compose import compose, continues, opens_article
from service.chat.condense import Standalone
from service.chat.dates import TimeScope, format_date, parse_date, recency_key
from service.chat.evidence import (
    Coverage,
    Name,
    Query,
    Reading,
    Sentence,
    content_terms,
    read,
    without_connective,
)
from service.chat.expected import (
    Kind,
    answer_clauses,
    asked_noun,
    counted,
    expected_kind,
    holds_answer,
    name_runs,
    person_named,
)
from service.chat.grammar import negated, negates, parsed
from service.chat.names import Embed, Names, question_names, similarities
from service.chat.types import ChatAnswer, Mode
from service.retrieval import Passage

# Set by hand on eval_sets/haiti-mss.jsonl as a whole (never per question), then checked by
# `make fit-constants` (service/evaluate/constants_fit.py): on the four development corpora,
# changing any one of the weights and ratios of its grid to another value of the grid passes
# no more questions held out (tests/evaluate/test_constants_fit.py, on the committed rows).
CONTEXT_WEIGHT = 0.5  # coverage of the query by the sentence's passage, title and date
SIMILARITY_WEIGHT = 0.5  # the passage's cosine similarity to the query
SEMANTIC_WEIGHT = 0.5  # the sentence's cosine similarity to the query (its passage's if unknown)
SCOPE_RATIO = 0.5  # the best sentence within the time scope must score this share of the best
LEAD_BONUS = 0.15  # the first sentences of an article state its news
MIN_EVIDENCE = 0.75  # below this the best sentence does not answer: abstain
ADDRESS_RATIO = 0.6  # a source addresses a question about time when its best scores this share
# ... or, on a question asking for a value, when a sentence holding one is this close in meaning
VALUE_RATIO = 0.65  # (a value is often stated in other words: "its final bill" for a cost)
KIND_RATIO = 0.8  # the best sentence holding the kind of answer asked, against the best of all
KEEP_RATIO = 0.65  # a further sentence is kept when it scores this share of the best
TIMELINE_RATIO = 0.5  # the best sentence of another document, on a question about time
MAX_SENTENCES = 5
NAME_PENALTY = 0.5  # evidence lost when the passage mentions none of the question's names
MAX_PER_DOCUMENT = 2
# A present-tense question that names no period ("What is the minimum wage?") is led by the
# newest dated source when its best sentence scores this share of the best of all sources.
PRESENT_TENSE_RATIO = 0.9
# A word means what a word of the question means when their vectors are this close
# ("population" to "inhabitants" 0.57, "warning" to "caution"); words of other things score
# lower ("Bank Rate" to "mortgage holders" 0.29).
WORD_SIMILARITY = 0.5
PARAPHRASE_SENTENCES = 10  # the best sentences whose words can stand for a word of the question
REPEAT_CHARS = 40  # a sentence beginning as that quote does is its first sentence

_VALUES = (Kind.FIGURE, Kind.MONEY, Kind.DATE)

NOT_IN_DOCUMENTS = "The documents do not answer this question."
# Questions that take something for granted; a premise the documents lack gets corrected.
_WORD = re.compile(r"[^\W\d_][\w’'-]*")  # a word, not a figure
_PRESUPPOSES = re.compile(r"^\W*(why|how come|since|given that|now that)\b", re.IGNORECASE)
# The words that can negate a question (spaCy's parse decides whether they do): only a question
# holding one is parsed.
_NEGATION = re.compile(r"\b(?:not|never|no|nor|neither|cannot)\b|n[’']t\b", re.IGNORECASE)


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    evidence: float  # how well the sentence, in its passage, answers the question
    score: float  # the ranking score: evidence, plus the lead bonus
    meaning: float = 0.0  # its similarity to the question, weakened as evidence is for names
    person: bool = False  # names a person the question does not (on a question for a name)
    introduces: bool = False  # names none, and the next sentence of its passage names one

    @property
    def document_id(self) -> str:
        return self.sentence.passage.document_id


def answer(
    question: Standalone,
    passages: Sequence[Passage],
    scope: TimeScope | None = None,
    query_vector: Sequence[float] | None = None,
    embed: Embed | None = None,
    decide: Callable[[Signals], bool] | None = None,
    mentions: Callable[[str], bool | None] | None = None,
) -> ChatAnswer:
    """Answer ``question`` from ``passages`` by quoting them, or abstain.

    ``scope`` is the question's time scope: its dates are not content words, and the evidence
    comes from the sources published within it when they answer well enough. ``embed`` (the
    index's embedder) tells whether a name the passages do not use refers to one of their
    documents (see :func:`service.chat.names.unrecognised`); without it such a name is unknown.
    ``decide`` tells from the evidence's signals whether to answer (by default the fitted model,
    :mod:`service.chat.abstention`). ``mentions`` tells whether any document has a word of
    a name (None: it cannot tell), so that a name the passages lack is said to be missing from
    the documents only when it is (see :func:`unmentioned`).
    """
    scope = scope or TimeScope()
    asked = scope.without_dates(question.question)
    reading = read(passages)
    names = question_names(question, asked, reading, passages, embed)
    kind = expected_kind(asked)
    query, ranked = evidence_for(question, asked, kind, names, reading, query_vector, embed)
    in_scope = [s for s in ranked if scope.contains(s.sentence.passage.published, s.sentence.text)]
    if in_scope and in_scope[0].score >= SCOPE_RATIO * ranked[0].score:
        ranked = in_scope
    answering, signals = answers(ranked, kind, query, asked, embed, names, passages)
    if not ranked or not (decide or shipped().answers)(signals):
        return abstain(question, passages, unmentioned(names.unknown, mentions, "They"))
    answering = answering or ranked  # the best evidence, though of another kind than asked
    if kind is Kind.NAME:
        answering = _persons_first(answering, asked, passages)
    noun = asked_noun(asked)
    if kind in (Kind.NAME, Kind.PLACE) and noun and embed is not None:  # "which country"
        answering = _typed_first(answering, noun, asked, embed)
    if _NEGATION.search(asked) and negates(parsed(asked)):  # "Which of them has not deployed?"
        answering = _negated_first(answering)
    # "Who is ...?" asks who holds a role now: the newest source that addresses it leads
    newest_first = scope.temporal or (scope.present_tense and kind is Kind.NAME)
    if scope.present_tense and not newest_first:  # "What is the minimum wage?": its latest
        answering = _newest_first(answering, kind, PRESENT_TENSE_RATIO)
    chosen = select(answering, newest_first, kind)
    draft, sources = compose(chosen, asked, set(query.weights), scope)
    if names.unknown:
        draft = f"{unmentioned(names.unknown, mentions)}; this is what they say.\n\n{draft}"
    rewriter = MarkerRewriter(len(sources))
    text = rewriter.rewrite(draft)
    return ChatAnswer(
        answer=text,
        answered=True,
        citations=cite(text, rewriter.order, sources),
        mode="extractive",
        question=question.text,
        retrieved=list(passages),
    )


def evidence_for(
    question: Standalone,
    asked: str,
    kind: Kind,
    names: Names,
    reading: Reading,
    query_vector: Sequence[float] | None,
    embed: Embed | None,
) -> tuple[Query, list[Scored]]:
    """The question's query (with the words the passages use for what it asks about, see
    :func:`paraphrased`; for any of its words when no noun follows its question word and even
    its best sentence is weak evidence: "main light collector" finds a "primary mirror") and
    the sentences ranked for it, without the quote the previous reply led with unless it holds
    an answer of ``kind``."""
    query = Query.from_turns(asked, question.context, ignore=names.absent)
    ranked = rank(query, reading, names.known, query_vector)
    if kind in (Kind.ANY, Kind.NAME):  # not the unit of a date or figure ("what date")
        weak = bool(ranked) and ranked[0].evidence < MIN_EVIDENCE
        noun = asked_noun(asked) or (asked if weak else "")
        reworded = paraphrased(query, noun, reading, ranked, embed)
        if reworded is not query:
            query, ranked = reworded, rank(reworded, reading, names.known, query_vector)
    if question.answered:  # what the previous reply led with is no yardstick for a new answer
        ranked = [
            s
            for s in ranked
            if holds_answer(kind, s.sentence.text, asked) or not _repeats(s, question.answered)
        ]
    return query, ranked


def answers(
    ranked: Sequence[Scored],
    kind: Kind,
    query: Query,
    asked: str,
    embed: Embed | None,
    names: Names,
    passages: Sequence[Passage],
) -> tuple[list[Scored], Signals]:
    """The sentences of ``ranked`` holding an answer of ``kind`` (a figure of what "how many"
    counts), best first, and the signals of whether they answer (:mod:`service.chat.abstention`)."""
    answering = [s for s in ranked if holds_answer(kind, s.sentence.text, asked)]
    noun = counted(asked) if kind is Kind.FIGURE and ranked else ""
    if noun and answering:
        answering = counting(answering, noun, asked, KEEP_RATIO * ranked[0].evidence, embed)
    best = ranked[0].evidence if ranked else 0.0
    found = answering[0].evidence if answering else 0.0
    quoted = [s for s in answering if s.evidence >= KEEP_RATIO * found]
    dated = kind not in (Kind.DATE, Kind.DAY) or bool(dating(quoted, kind, query, asked))
    figures = [n for n in names.unknown if not n.terms]
    presupposes = _PRESUPPOSES.match(asked) is not None
    rules = (
        (not names.unknown or presupposes)
        and bool(answering)
        and found >= max(MIN_EVIDENCE, KIND_RATIO * best)
        and dated
    )
    signals = Signals(
        unknown_names=len(names.unknown) - len(figures),
        unknown_figures=len(figures),
        presupposes=float(presupposes),
        evidence=best,
        answer_evidence=found,
        answer_share=found / best if best > 0 else 0.0,
        dated=float(dated),
        similarity=max((p.similarity or 0.0 for p in passages), default=0.0),
        rules=float(rules),
    )
    return answering, signals


def paraphrased(
    query: Query, noun: str, reading: Reading, ranked: Sequence[Scored], embed: Embed | None
) -> Query:
    """``query`` also asking for the word of the best sentences closest to each word of
    ``noun`` (what the question asks about) that they do not use, when within
    :data:`WORD_SIMILARITY` by ``embed``: "what safety caution" finds "a boxed warning".
    ``query`` itself when there is none."""
    best = ranked[:PARAPHRASE_SENTENCES]
    terms = {id(s): t for s, t in zip(reading.sentences, reading.terms, strict=True)}
    used = set().union(*(terms[id(s.sentence)] for s in best))
    missing = [w for w in noun.split() if (t := content_terms(w)) and not used & set(t)]
    words = sorted({w for s in best for w in _WORD.findall(s.sentence.text) if content_terms(w)})
    if embed is None or not missing or not words:
        return query
    weights = dict(query.weights)
    for word, row in zip(missing, similarities(embed, missing, words), strict=True):
        closest = int(row.argmax())
        if row[closest] >= WORD_SIMILARITY:
            weight = max(query.weights.get(t, 0.0) for t in content_terms(word))
            for term in content_terms(words[closest]):
                weights.setdefault(term, weight)
    return Query(weights) if weights != query.weights else query


def counting(
    scored: Sequence[Scored], noun: str, question: str, bar: float, embed: Embed | None
) -> list[Scored]:
    """The sentences of ``scored`` with a figure counting ``noun`` (what "how many" asks).

    The clause holding the figure says what it counts: a word of ``noun``, or (for sentences
    whose evidence reaches ``bar``) a word within :data:`WORD_SIMILARITY` of it by ``embed``:
    "population" counts "inhabitants", "Bank Rate" no "mortgage holders".
    """
    wanted = set(content_terms(noun))
    clauses = {id(s): answer_clauses(Kind.FIGURE, s.sentence.text, question) for s in scored}
    words = {id(s): {w for c in clauses[id(s)] for w in _WORD.findall(c)} for s in scored}
    lexical = {id(s) for s in scored if any(wanted & set(content_terms(w)) for w in words[id(s)])}
    unsure = [s for s in scored if id(s) not in lexical and s.evidence >= bar and words[id(s)]]
    close: set[int] = set()
    if embed is not None and unsure:
        candidates = sorted({w for s in unsure for w in words[id(s)] if content_terms(w)})
        similarity = similarities(embed, [noun], candidates)[0]
        near = {w for w, sim in zip(candidates, similarity, strict=True) if sim >= WORD_SIMILARITY}
        close = {id(s) for s in unsure if words[id(s)] & near}
    return [s for s in scored if id(s) in lexical | close]


def dating(scored: Sequence[Scored], kind: Kind, query: Query, question: str) -> list[Scored]:
    """The sentences of ``scored`` with a date of ``kind`` whose clause says what happened
    then in the question's words (a term of ``query``): "reversing a negative opinion it
    issued in July" does not date a grant."""
    return [
        s
        for s in scored
        if any(
            query.weights.keys() & set(content_terms(clause))
            for clause in answer_clauses(kind, s.sentence.text, question)
        )
    ]


def abstain(
    question: Standalone, passages: Sequence[Passage], why: str = "", mode: Mode = "extractive"
) -> ChatAnswer:
    """The "not in the documents" answer, with ``why`` (a sentence, see :func:`unmentioned`),
    naming the closest sources without claims."""
    text = NOT_IN_DOCUMENTS
    if why:
        text += f" {why}."
    closest: dict[str, Passage] = {}
    for passage in passages:
        closest.setdefault(passage.document_id, passage)
    named = [f"“{p.title}” ({format_date(p.published)})" for p in list(closest.values())[:2]]
    if named:
        text += f" The closest sources are {' and '.join(named)}."
    return ChatAnswer(
        answer=text,
        answered=False,
        citations=[],
        mode=mode,
        question=question.text,
        retrieved=list(passages),
    )


def unmentioned(
    names: Sequence[Name],
    mentions: Callable[[str], bool | None] | None,
    documents: str = "The documents",
) -> str:
    """What the answer says of ``names``, which no retrieved passage mentions: that the
    ``documents`` do not mention those no document has a word of (by ``mentions``), and that
    the passages found do not mention the others ("" for no names)."""
    missing = [n for n in names if mentions is not None and mentions(n.text) is False]
    unfound = [n for n in names if n not in missing]
    found = f"passages found for it do not mention {_listed(unfound)}" if unfound else ""
    if not missing:
        return f"The {found}" if found else ""
    said = f"{documents} do not mention {_listed(missing)}"
    return f"{said}, and the {found}" if found else said


def _listed(names: Sequence[Name]) -> str:
    quoted = [f"“{n.text}”" for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def rank(
    query: Query,
    reading: Reading,
    names: Sequence[Name] = (),
    query_vector: Sequence[float] | None = None,
) -> list[Scored]:
    """The sentences read from the passages, best evidence for ``query`` first.

    Evidence is lexical (coverage of the query's terms by the sentence and its passage) and
    semantic (cosine similarity of the passage, and of the sentence when the index stores
    sentence vectors, to ``query_vector``). A sentence whose passage does not mention the
    ``names`` of the question is weaker evidence.
    """
    coverage = Coverage(query, reading.terms)
    wanted = None if query_vector is None else np.asarray(query_vector, np.float32)
    scored = []
    for sentence, own, vector in zip(
        reading.sentences, reading.terms, reading.vectors, strict=True
    ):
        passage = sentence.passage
        context = reading.contexts[passage.chunk_id]
        similarity = max(passage.similarity or 0.0, 0.0)
        semantic = similarity
        if wanted is not None and vector is not None:
            semantic = max(float(wanted @ vector), 0.0)
        evidence = (
            coverage(own)
            + CONTEXT_WEIGHT * coverage(own | context.terms)
            + SIMILARITY_WEIGHT * similarity
            + SEMANTIC_WEIGHT * semantic
        )
        mentioned = 1.0
        if names:
            unmentioned = sum(not n.mentioned_in(context) for n in names) / len(names)
            mentioned = 1 - NAME_PENALTY * unmentioned
        bonus = LEAD_BONUS if opens_article(sentence) else 0.0
        evidence *= mentioned
        scored.append(Scored(sentence, evidence, evidence + bonus, semantic * mentioned))
    return sorted(scored, key=lambda s: -s.score)


def _repeats(scored: Scored, answered: str) -> bool:
    """True when ``scored`` is the first sentence of ``answered``, the quote the previous reply
    led with (which may be cut short)."""
    return answered.startswith(without_connective(scored.sentence.text)[:REPEAT_CHARS])


def _persons_first(
    ranked: Sequence[Scored], question: str, passages: Sequence[Passage]
) -> list[Scored]:
    """``ranked``, marking the sentences that name a person ``question`` does not
    (:func:`person_named`) and those introducing one that the next sentence names (with a
    word of what the question asks about, when it says: "which federal judge"); in each
    document's places those scoring :data:`KIND_RATIO` of its best come first. A name is most
    often asked of a person ("Silvana Tenreyro was the only member who ..." before "The Bank
    of England raised rates ..."), and news introduces someone before naming them ("A federal
    judge blocked ...", then "US District Judge Adrienne Nelson granted ...")."""
    written = {w for p in passages for w in re.findall(r"[\w-]+", f"{p.title} {p.text}")}
    noun = set(content_terms(asked_noun(question)))
    marked = [replace(s, person=person_named(s.sentence.text, question, written)) for s in ranked]
    naming = {
        (id(s.sentence.passage), s.sentence.position)
        for s in marked
        if s.person and (not noun or noun & set(content_terms(s.sentence.text)))
    }
    marked = [s if s.person else replace(s, introduces=_next_place(s) in naming) for s in marked]
    best: dict[str, float] = {}
    for s in marked:
        best[s.document_id] = max(best.get(s.document_id, 0.0), s.evidence)
    first = [
        s
        for s in marked
        if (s.person or s.introduces) and s.evidence >= KIND_RATIO * best[s.document_id]
    ]
    queues = {doc: [s for s in first if s.document_id == doc] for doc in best}
    for s in marked:
        if not any(s is t for t in first):
            queues[s.document_id].append(s)
    return [queues[s.document_id].pop(0) for s in marked]


def _typed_first(ranked: Sequence[Scored], noun: str, asked: str, embed: Embed) -> list[Scored]:
    """``ranked`` led by the sentence, among those scoring :data:`KIND_RATIO` of the best,
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


def _negated_first(ranked: Sequence[Scored]) -> list[Scored]:
    """``ranked`` led by the best sentence that negates what it says ("The Bahamas has not sent
    any officers"), among those scoring :data:`KIND_RATIO` of the best: a question asking what
    did not happen is not answered by what did ("Kenya and Belize have deployed theirs")."""
    top = _near_best(ranked)
    saying = [s for s, no in zip(top, negated([s.sentence.text for s in top]), strict=True) if no]
    return _led_by(saying[0], ranked) if saying else list(ranked)


def _near_best(ranked: Sequence[Scored]) -> list[Scored]:
    """The sentences of ``ranked`` scoring :data:`KIND_RATIO` of the best's evidence."""
    return [s for s in ranked if s.evidence >= KIND_RATIO * ranked[0].evidence] if ranked else []


def _led_by(lead: Scored, ranked: Sequence[Scored]) -> list[Scored]:
    """``ranked`` with ``lead`` moved first."""
    return [lead, *(s for s in ranked if s is not lead)]


def _next_place(scored: Scored) -> tuple[int, int]:
    """Where the next sentence of ``scored``'s passage is: the passage and a position."""
    return id(scored.sentence.passage), scored.sentence.position + 1


def _newest_first(ranked: Sequence[Scored], kind: Kind, ratio: float | None = None) -> list[Scored]:
    """``ranked`` led by the best sentence of the newest dated source that addresses the
    question (scores :data:`ADDRESS_RATIO` of the best dated one): the current position, not
    the newest source that shares a word with the question. A value (a figure, an amount, a
    date) is stated in many words ("its final bill" for "what it will cost"): on a question
    asking for one, a sentence holding one that is :data:`VALUE_RATIO` as close in meaning
    to the question as the closest addresses it too. Undated sources never win on recency,
    nor raise the bar, except with a ``ratio``: then the newest must score that share of the
    best sentence of any source, undated ones included; when none does, ``ranked`` stays as
    it is."""
    dated = [s for s in ranked if parse_date(s.sentence.passage.published) is not None]
    if not dated:
        return list(ranked)
    if ratio is None:
        bar = ADDRESS_RATIO * max(s.evidence for s in dated)
    else:
        bar = ratio * max(s.evidence for s in ranked)
    near = VALUE_RATIO * max(s.meaning for s in dated) if kind in _VALUES else math.inf
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
        ranked = _newest_first(ranked, kind)
    best = ranked[0]
    chosen = [best]
    news: list[Scored] = []  # the leading source's first sentences and persons, beside its best
    if temporal:
        close = [c for c in ranked if c.score >= TIMELINE_RATIO * best.score]
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
            and candidate.score >= KEEP_RATIO * best.score
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
