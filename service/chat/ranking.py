"""Ranking the sentences of retrieved passages as evidence for a question.

A sentence is scored by how much of the question it covers (lexically, see
:mod:`service.chat.evidence`) and by its similarity to it (sentence vectors stored at ingest),
helped by its passage's coverage and similarity to the query and by being an article's lead,
and weakened when its passage does not mention the names the question uses. The weights are in
:mod:`service.chat.weights`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.chat import weights
from service.chat.compose import opens_article
from service.chat.condense import Standalone
from service.chat.evidence import (
    WORD,
    Coverage,
    Name,
    Query,
    Reading,
    Sentence,
    content_terms,
    without_connective,
)
from service.chat.expected import Kind, asked_noun, holds_answer
from service.chat.names import Embed, Names, similarities

PARAPHRASE_SENTENCES = 10  # the best sentences whose words can stand for a word of the question
REPEAT_CHARS = 40  # a sentence beginning as that quote does is its first sentence


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
        weak = bool(ranked) and ranked[0].evidence < weights.MIN_EVIDENCE
        noun = asked_noun(asked) or (asked if weak else "")
        reworded = paraphrased(query, noun, reading, ranked, embed)
        if reworded is not query:
            query, ranked = reworded, rank(reworded, reading, names.known, query_vector)
    if question.answered:  # what the previous reply led with is no yardstick for a new answer
        ranked = [
            s
            for s in ranked
            if holds_answer(kind, s.sentence.text, asked) or not repeats(s, question.answered)
        ]
    return query, ranked


def paraphrased(
    query: Query, noun: str, reading: Reading, ranked: Sequence[Scored], embed: Embed | None
) -> Query:
    """``query`` also asking for the word of the best sentences closest to each word of
    ``noun`` (what the question asks about) that they do not use, when within
    :data:`weights.WORD_SIMILARITY` by ``embed``: "what safety caution" finds "a boxed warning".
    ``query`` itself when there is none."""
    best = ranked[:PARAPHRASE_SENTENCES]
    terms = {id(s): t for s, t in zip(reading.sentences, reading.terms, strict=True)}
    used = set().union(*(terms[id(s.sentence)] for s in best))
    missing = [w for w in noun.split() if (t := content_terms(w)) and not used & set(t)]
    words = sorted({w for s in best for w in WORD.findall(s.sentence.text) if content_terms(w)})
    if embed is None or not missing or not words:
        return query
    terms_weights = dict(query.weights)
    for word, row in zip(missing, similarities(embed, missing, words), strict=True):
        closest = int(row.argmax())
        if row[closest] >= weights.WORD_SIMILARITY:
            weight = max(query.weights.get(t, 0.0) for t in content_terms(word))
            for term in content_terms(words[closest]):
                terms_weights.setdefault(term, weight)
    return Query(terms_weights) if terms_weights != query.weights else query


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
            + weights.CONTEXT_WEIGHT * coverage(own | context.terms)
            + weights.SIMILARITY_WEIGHT * similarity
            + weights.SEMANTIC_WEIGHT * semantic
        )
        mentioned = 1.0
        if names:
            unmentioned = sum(not n.mentioned_in(context) for n in names) / len(names)
            mentioned = 1 - weights.NAME_PENALTY * unmentioned
        bonus = weights.LEAD_BONUS if opens_article(sentence) else 0.0
        evidence *= mentioned
        scored.append(Scored(sentence, evidence, evidence + bonus, semantic * mentioned))
    return sorted(scored, key=lambda s: -s.score)


def repeats(scored: Scored, answered: str) -> bool:
    """True when ``scored`` is the first sentence of ``answered``, the quote the previous reply
    led with (which may be cut short)."""
    return answered.startswith(without_connective(scored.sentence.text)[:REPEAT_CHARS])
