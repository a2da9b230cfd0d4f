"""Writing an extractive answer: the answering quote first, then, when time matters, a history.

The lead quote answers the question: on a question about time (the present, a change, an
"as of" date) it comes from the newest dated source that holds an answer of the kind asked
for, otherwise it is the best evidence that does. Each quote is verbatim text of its source,
cut after the last clause that carries the question's terms or the answer asked for (a
trailing ", the company said on Monday" goes). Further quotes follow while the answer stays
under :data:`MAX_WORDS` words and :data:`MAX_CITATIONS` citations: on a question about time
newest first, each dated ("Earlier, on 7 February 2025: ..."), after the lead's source's next
quote on a question for a kind of answer (who took over from whom it names); a question about
change since a point also cites that starting point, the oldest source in its time scope,
beside the others.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.chat.citations import Source
from service.chat.dates import TimeScope, format_date, parse_date, recency_key
from service.chat.evidence import Sentence, sentence_spans, terms_of, without_connective
from service.chat.expected import Kind, expected_kind, holds_answer

MAX_WORDS = 80  # further quotes are added while the answer stays this short
MAX_HISTORY_WORDS = 130  # on a question about time, with its history
MAX_CITATIONS = 3
SAME_SOURCE_WORDS = 15  # more room for a quote of the lead's own source
LEAD_SENTENCES = 2  # the first sentences of an article state its news
MIN_CLAUSE_WORDS = 4  # a shorter clause ("Conversely,") belongs with the next one
_SINCE = re.compile(r"\bsince\b", re.IGNORECASE)
# A sentence like this continues the one before it: it opens with a reference back, adds to it
# ("also"), or is a quote attributed to "she" or "he".
_CONTINUES = re.compile(
    r"^\W*(this|these|that|those|it|its|he|his|she|her|they|their|such)\b"
    r"|^\W*(\w+\W+){0,4}also\b"
    r"|\b(he|she|they) (said|stated|added|remarked|noted|explained)\W*$",
    re.IGNORECASE,
)
# Where a clause ends: a comma, semicolon or colon, or a dash, before a space.
_CLAUSE_END = re.compile(r"[,;:](?=\s)|\s[–—-](?=\s)")
_FIGURE = re.compile(r"\d")
_ENDED = re.compile(r"[.!?][\"'”’)]*$")  # how a sentence ends
# The date label _write puts before a paragraph's quotes ("As of 7 August 2025: ", "Undated: "),
# as a reader of an earlier reply finds it (service.chat.condense).
LABEL = re.compile(r"^(?:As of |Earlier, on )?(?:\d{1,2} \w+ \d{4}|[Uu]ndated):\s+")


def opens_article(sentence: Sentence) -> bool:
    """True for the first sentences of an article, which state its news: a line without a
    sentence's end (a heading, a byline, "Reuters") is not one of them."""
    passage = sentence.passage
    if passage.start != 0 or not _ENDED.search(sentence.text):
        return False
    before = sentence_spans(passage.text)[: sentence.position]
    return sum(bool(_ENDED.search(passage.text[s:e])) for s, e in before) < LEAD_SENTENCES


def continues(text: str) -> bool:
    """True when the sentence ``text`` continues the one before it ("This measure ...")."""
    return _CONTINUES.search(text) is not None


@dataclass(frozen=True)
class Quote:
    """Verbatim ``passage.text[start:end]``: whole sentences, the last one possibly cut."""

    sentences: tuple[Sentence, ...]
    start: int
    end: int

    @property
    def passage_text(self) -> str:
        return self.sentences[0].passage.text[self.start : self.end]

    @property
    def published(self) -> str:
        return self.sentences[0].passage.published

    @property
    def document_id(self) -> str:
        return self.sentences[0].passage.document_id


def compose(
    chosen: Sequence[Sentence], asked: str, terms: set[str], scope: TimeScope
) -> tuple[str, list[Source]]:
    """The draft answer to ``asked`` from the ``chosen`` sentences (best evidence first).

    ``terms`` are the question's content terms (with those of the turns it leans on); the
    draft's markers ``[n]`` name the returned sources. A question about time is answered
    with its history unless its ``scope`` gives none (a follow-up about an earlier turn's
    period: :attr:`TimeScope.history`); then it is answered as any other question.
    """
    kind = expected_kind(asked)
    timeline = scope.temporal and scope.history
    quotes = [_trimmed(q, terms, kind, asked) for q in _quotes(chosen, timeline)]
    lead = _lead(quotes, kind, asked, timeline)
    rest = [q for q in quotes if q is not lead]
    budget, start = MAX_WORDS, None
    if timeline:  # the history: one quote per earlier document, newest first
        budget = MAX_HISTORY_WORDS
        firsts = {q.document_id: q for q in reversed(rest)}
        # on a question for a kind of answer, the lead's source's next quote comes before the
        # history: who took over from whom it names, where the telescope is now
        lead_next = [q for q in rest if kind is not Kind.ANY and q.document_id == lead.document_id]
        rest.sort(  # a source newer than the lead did not address the question: last
            key=lambda q: (
                q not in lead_next[:1],
                q.document_id == lead.document_id or firsts[q.document_id] is not q,
                recency_key(q.published) < recency_key(lead.published),
                recency_key(q.published),
            )
        )
        if _SINCE.search(asked):
            start = _starting_point(rest, scope)
        if start is not None:
            rest.remove(start)
            rest.insert(0, start)
    else:  # the lead's document first
        rest.sort(key=lambda q: q.document_id != lead.document_id)
    shown = [lead]
    words = _words(lead)
    for quote in rest:
        if len(shown) == MAX_CITATIONS + (start is not None):
            break
        own = quote.document_id == lead.document_id and not timeline
        if quote is start or words + _words(quote) <= budget + own * SAME_SOURCE_WORDS:
            shown.append(quote)
            words += _words(quote)
    return _write(shown, timeline)


def _quotes(chosen: Sequence[Sentence], temporal: bool) -> list[Quote]:
    """The chosen sentences as quotes, best first: a sentence with the chosen ones continuing
    it, and on a question about time an article's news (its first sentences) as one quote."""
    rank = {sentence: index for index, sentence in reversed(list(enumerate(chosen)))}
    runs: list[list[Sentence]] = []
    for sentence in sorted(rank, key=lambda s: (s.passage.chunk_id, s.position)):
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and sentence.passage is last.passage
            and sentence.position == last.position + 1
            and (continues(sentence.text) or temporal and opens_article(sentence))
        ):
            runs[-1].append(sentence)
        else:
            runs.append([sentence])
    runs.sort(key=lambda run: min(rank[s] for s in run))
    return [Quote(tuple(run), run[0].start, run[-1].end) for run in runs]


def _trimmed(quote: Quote, terms: set[str], kind: Kind, asked: str) -> Quote:
    """``quote`` cut after the last clause of its last sentence that carries information.

    A clause carries information when it has one of the question's ``terms``, a figure, a
    name the question does not use, or an answer of ``kind``; the first clause always stays.
    """
    last = quote.sentences[-1]
    text = last.text
    ends = [m.start() for m in _CLAUSE_END.finditer(text)] + [len(text)]
    begin = cut = 0
    for end in ends:
        clause = text[begin:end]
        if len(text[:end].split()) < MIN_CLAUSE_WORDS and end < len(text):
            continue  # too short to stand alone: it goes with the next clause
        if not cut or _informative(clause, terms, kind, asked):
            cut = end
        begin = end
    return Quote(quote.sentences, quote.start, last.start + cut)


def _informative(clause: str, terms: set[str], kind: Kind, asked: str) -> bool:
    if terms_of([clause])[0] & terms or _FIGURE.search(clause):
        return True
    return holds_answer(Kind.NAME, clause, asked) or (
        kind is not Kind.ANY and holds_answer(kind, clause, asked)
    )


def _lead(quotes: list[Quote], kind: Kind, asked: str, timeline: bool) -> Quote:
    """The best quote holding an answer of ``kind`` (the best one when none does).

    On a question about time answered with its history (``timeline``: the present, a change,
    a date "as of" or a period) the best dated one's source leads, with its news (its first
    sentences) when that holds an answer too.
    """
    answering = [q for q in quotes if holds_answer(kind, q.passage_text, asked)] or quotes
    if not timeline:
        return answering[0]
    best = next((q for q in answering if parse_date(q.published)), answering[0])
    news = (q for q in answering if q.document_id == best.document_id and _is_news(q))
    return next(news, best)


def _is_news(quote: Quote) -> bool:
    return opens_article(quote.sentences[0])


def _starting_point(quotes: list[Quote], scope: TimeScope) -> Quote | None:
    """The oldest dated quote within ``scope``: where a change "since" then starts."""
    dated = [q for q in quotes if parse_date(q.published) and scope.contains(q.published)]
    if not dated:
        return None
    return max(dated, key=lambda q: recency_key(q.published))


def _words(quote: Quote) -> int:
    return len(quote.passage_text.split()) + 5  # with its date and marker


def _write(quotes: list[Quote], temporal: bool) -> tuple[str, list[Source]]:
    """The draft: the lead, then the other documents' quotes, one paragraph per document."""
    lead = quotes[0]
    by_document: dict[str, list[Quote]] = {}
    for quote in quotes:
        by_document.setdefault(quote.document_id, []).append(quote)
    groups = list(by_document.values())
    if temporal:
        groups[1:] = sorted(groups[1:], key=lambda g: recency_key(g[0].published))
    sources: list[Source] = []
    paragraphs = []
    for index, group in enumerate(groups):
        first = group[0].sentences[0].passage
        date = format_date(first.published)
        if temporal and index == 0 and date != "undated":
            label = f"As of {date}:"
        elif (
            temporal
            and date != "undated"
            and recency_key(first.published) > recency_key(lead.published)
        ):
            label = f"Earlier, on {date}:"
        else:
            label = f"{date[:1].upper()}{date[1:]}:"
        parts = [label]
        for quote in group:
            sources.append(Source(quote.sentences[0].passage, quote.passage_text))
            parts.append(f"{_text(quote)} [{len(sources)}]")
        paragraphs.append(" ".join(parts))
    return "\n\n".join(paragraphs), sources


def _text(quote: Quote) -> str:
    """The quote as the answer shows it: "…" marks a sentence cut short."""
    sentences = [s.text for s in quote.sentences[:-1]]
    last = quote.sentences[-1]
    sentences.append(last.passage.text[last.start : quote.end])
    text = " ".join(without_connective(s) for s in sentences)
    return text if text[-1] in ".!?\"'”’)" else f"{text.rstrip(',;:–—- ')}…"
