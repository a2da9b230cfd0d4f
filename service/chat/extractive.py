"""Extractive answers: sentences of the retrieved passages, quoted verbatim, dated and cited.

Sentences are ranked as evidence (:mod:`service.chat.ranking`). The question's dates are its
time scope (:mod:`service.chat.dates`), never words to match: "as of" a date, the sources
published by then answer when they answer well enough. The answer abstains when even the best
sentence is weak evidence or lacks the kind of answer asked for (a figure for "how many", a date
for "when", a name for "who": :mod:`service.chat.expected`; "how many X" needs a figure of X,
"when" a date of what it asks about), or when the question names something no passage mentions
(not even by its initials, or spelled out) and no retrieved title is close to (unless it asks
"why": then the premise is corrected); the fitted model of :mod:`service.chat.abstention`
decides. Which sentences lead and follow is :mod:`service.chat.leads`'s choice.
"""

import re
from collections.abc import Callable, Sequence

from service.chat import weights
from service.chat.abstention import Signals, shipped
from service.chat.citations import MarkerRewriter, cite
from service.chat.compose import compose
from service.chat.condense import Standalone
from service.chat.dates import TimeScope, format_date
from service.chat.evidence import WORD, Name, Query, content_terms, read
from service.chat.expected import (
    Kind,
    answer_clauses,
    asked_noun,
    counted,
    expected_kind,
    holds_answer,
)
from service.chat.grammar import negates, parsed
from service.chat.leads import (
    mark_persons,
    negated_first,
    newest_first,
    persons_first,
    select,
    typed_first,
)
from service.chat.names import Embed, Names, question_names, similarities
from service.chat.ranking import Scored, evidence_for
from service.chat.types import ChatAnswer, Mode
from service.retrieval import Passage

NOT_IN_DOCUMENTS = "The documents do not answer this question."
STALE = "None of the passages found for it is from the week it asks about or the week before"
# Questions that take something for granted; a premise the documents lack gets corrected.
_PRESUPPOSES = re.compile(r"^\W*(why|how come|since|given that|now that)\b", re.IGNORECASE)
# The words that can negate a question (spaCy's parse decides whether they do): only a question
# holding one is parsed.
_NEGATION = re.compile(r"\b(?:not|never|no|nor|neither|cannot)\b|n[’']t\b", re.IGNORECASE)


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
    if in_scope and in_scope[0].score >= weights.SCOPE_RATIO * ranked[0].score:
        ranked = in_scope
    if ranked:  # a place that describes what is asked, where the evidence names another
        names = names.contested(ranked[0].sentence.text)
    answering, signals = answers(ranked, kind, query, asked, embed, names, passages)
    if not ranked or not (decide or shipped().answers)(signals):
        return abstain(question, passages, unmentioned(names.unknown, mentions, "They"))
    answering = answering or ranked  # the best evidence, though of another kind than asked
    if kind is Kind.NAME:
        answering = mark_persons(answering, asked, passages)
    noun = asked_noun(asked)
    if kind in (Kind.NAME, Kind.PLACE) and noun and embed is not None:  # "which country"
        answering = typed_first(answering, noun, asked, embed)  # names what it asks for
    elif kind is Kind.NAME:  # "who": a person
        answering = persons_first(answering)
    if _NEGATION.search(asked) and negates(parsed(asked)):  # "Which of them has not deployed?"
        answering = negated_first(answering)
    # "Who is ...?" asks who holds a role now: the newest source that addresses it leads
    by_recency = scope.temporal or (scope.present_tense and kind is Kind.NAME)
    if scope.present_tense and not by_recency:  # "What is the minimum wage?": its latest
        answering = newest_first(answering, kind, weights.PRESENT_TENSE_RATIO)
    chosen = select(answering, by_recency, kind)
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
        answering = counting(answering, noun, asked, weights.KEEP_RATIO * ranked[0].evidence, embed)
    best = ranked[0].evidence if ranked else 0.0
    found = answering[0].evidence if answering else 0.0
    quoted = [s for s in answering if s.evidence >= weights.KEEP_RATIO * found]
    dated = kind not in (Kind.DATE, Kind.DAY) or bool(dating(quoted, kind, query, asked))
    figures = [n for n in names.unknown if not n.terms]
    presupposes = _PRESUPPOSES.match(asked) is not None
    rules = (
        (not names.unknown or presupposes)
        and bool(answering)
        and found >= max(weights.MIN_EVIDENCE, weights.KIND_RATIO * best)
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


def counting(
    scored: Sequence[Scored], noun: str, question: str, bar: float, embed: Embed | None
) -> list[Scored]:
    """The sentences of ``scored`` with a figure counting ``noun`` (what "how many" asks).

    The clause holding the figure says what it counts: a word of ``noun``, or (for sentences
    whose evidence reaches ``bar``) a word within :data:`weights.WORD_SIMILARITY` of it by
    ``embed``: "population" counts "inhabitants", "Bank Rate" no "mortgage holders".
    """
    wanted = set(content_terms(noun))
    clauses = {id(s): answer_clauses(Kind.FIGURE, s.sentence.text, question) for s in scored}
    words = {id(s): {w for c in clauses[id(s)] for w in WORD.findall(c)} for s in scored}
    lexical = {id(s) for s in scored if any(wanted & set(content_terms(w)) for w in words[id(s)])}
    unsure = [s for s in scored if id(s) not in lexical and s.evidence >= bar and words[id(s)]]
    close: set[int] = set()
    if embed is not None and unsure:
        candidates = sorted({w for s in unsure for w in words[id(s)] if content_terms(w)})
        similarity = similarities(embed, [noun], candidates)[0]
        near = {
            w
            for w, sim in zip(candidates, similarity, strict=True)
            if sim >= weights.WORD_SIMILARITY
        }
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
