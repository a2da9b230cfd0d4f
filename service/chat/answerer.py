"""The answerer: make the question standalone, retrieve, answer, and fall back when the LLM fails.

Extractive mode (the offline default) quotes the retrieved passages. LLM mode asks an
OpenAI-compatible model for a cited answer and keeps only its sentences that the passages they
cite support (:mod:`service.chat.support`); a timeout, an HTTP error, a malformed reply or an
answer with no supported sentence falls back to the extractive answer, with a ``notice``.

Explicit :class:`~service.filters.Filters` bound retrieval, so every answer, citation and "not
in the documents" message is drawn from the documents they admit; a question's own time scope
("as of March 2024") still orders the passages within them.
"""

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from service import metrics
from service.chat import extractive
from service.chat.abstention import Signals
from service.chat.citations import MarkerRewriter, Source, cite
from service.chat.condense import Standalone, standalone
from service.chat.dates import TimeScope, conversation_scope, time_scope, without_dates
from service.chat.llm import (
    NO_ANSWER,
    ChatMessages,
    ChatModel,
    Deadline,
    LLMError,
    condense_messages,
    fitted_answer_messages,
)
from service.chat.prompts import Prompts
from service.chat.support import SupportCheck, adds_facts, facts_context
from service.chat.types import ChatAnswer, ChatEvent, Delta, Failure, Final, Message, Mode
from service.filters import Filters
from service.memo import Remembered
from service.retrieval import Passage, Retriever

logger = logging.getLogger(__name__)

TIMELINE_DEPTH = 2  # a question about time retrieves this many times top_k, to find its period
SCOPE_FIRST = True  # passages in the question's time scope are read first
MAX_CONDENSED_CHARS = 500
SHORT_VECTORS_KEPT = 10_000  # names and titles whose vectors an answerer remembers


@dataclass(frozen=True)
class Turn:
    """A question ready to be answered, with the passages retrieved for it."""

    messages: tuple[Message, ...]
    question: Standalone  # by the deterministic rule (extractive mode, and fallbacks)
    query: str  # what retrieval used: in LLM mode the model's standalone question
    passages: list[Passage]
    deadline: Deadline  # when the answer stops waiting for the LLM (LLM mode only)
    scope: TimeScope = TimeScope()
    query_vector: list[float] | None = None
    asked: str = ""  # the question put to the LLM
    llm_error: str | None = None  # the LLM already failed while condensing
    filters: Filters | None = None  # what the passages were retrieved among

    @cached_property
    def quotable(self) -> list[Passage]:
        """The passages an answer may draw on, in either mode: on a question about this week
        (a strict time scope), only those of that week and the week before. Worked out once
        per turn: the mode's choice, the model's prompt and the extractive answer all read it."""
        if not self.scope.strict:
            return self.passages
        return [p for p in self.passages if self.scope.contains(p.published, p.text)]


@dataclass(frozen=True)
class LanguageModel:
    """What LLM mode needs: the model, its prompt templates, the seconds an answer may wait
    for it in all (condensing, retries and streaming), and the answer prompt's token budget."""

    model: ChatModel
    prompts: Prompts
    deadline: float
    prompt_tokens: int


class Answerer:
    """Answers the last user message of a conversation from the retrieved passages."""

    def __init__(
        self,
        retriever: Retriever,
        top_k: int,
        llm: LanguageModel | None = None,
        clock: Callable[[], dt.date] = dt.date.today,
        decide: Callable[[Signals], bool] | None = None,
    ) -> None:
        self._retriever = retriever
        self._top_k = top_k
        self._llm = llm
        self._clock = clock
        self._decide = decide  # whether an extractive answer answers; the fitted model if None
        # names and document titles: the titles of a collection come back question after
        # question, and a batch of them costs a forward pass (40-60 ms on a small CPU)
        self._embed_short = Remembered(retriever.embedder.embed_documents, SHORT_VECTORS_KEPT)

    @property
    def mode(self) -> Mode:
        return "extractive" if self._llm is None else "llm"

    def prepare(self, messages: Sequence[Message], filters: Filters | None = None) -> Turn:
        """Make the question standalone and retrieve passages for it (among those ``filters``
        admit).

        Store failures propagate (the API answers 503); LLM failures are kept for later.
        """
        deadline = Deadline(self._llm.deadline if self._llm is not None else 0.0)
        today = self._clock()
        question = standalone(messages)
        ruled = question.text  # what the LLM is asked when its own rewrite is not kept
        question, scope, searched = self.scoped(question)
        query, asked, llm_error = question.text, messages[-1].content.strip(), None
        if self._llm is not None and len(messages) > 1:
            try:
                condensed = self._condense(messages, deadline)
            except LLMError as exc:
                llm_error = str(exc)
            else:
                query = asked = condensed or ruled
                if condensed:
                    searched = without_dates(query, today)  # as the LLM condensed it
        vector = self._retriever.embedder.embed_query(searched)
        passages = self._retriever.search(searched, self.depth(scope), vector, filters)
        if SCOPE_FIRST:
            passages.sort(key=lambda p: not scope.contains(p.published, p.text))
        return Turn(
            tuple(messages),
            question,
            query,
            passages,
            deadline,
            scope,
            vector,
            asked,
            llm_error,
            filters,
        )

    def depth(self, scope: TimeScope) -> int:
        """How many passages are read for a question of ``scope``."""
        return self._top_k * TIMELINE_DEPTH if scope.temporal else self._top_k

    def scoped(self, question: Standalone) -> tuple[Standalone, TimeScope, str]:
        """``question`` with earlier turns undated, its time scope (a follow-up's may be the
        conversation's, :func:`conversation_scope`), and what retrieval searches: the question
        without the dates of its scope (they are the scope)."""
        today = self._clock()
        earlier = [time_scope(turn, today) for turn in question.context]
        scope = conversation_scope(question.question, earlier, today)
        # the dates of earlier turns are no words to match either
        undated = tuple(s.without_dates(t) for s, t in zip(earlier, question.context, strict=True))
        question = dataclasses.replace(question, context=undated)
        searched = dataclasses.replace(
            question, question=scope.without_dates(question.question)
        ).text
        return question, scope, searched

    def answer(self, messages: Sequence[Message], filters: Filters | None = None) -> ChatAnswer:
        """The whole answer at once, from the passages ``filters`` admit."""
        turn = self.prepare(messages, filters)
        if self._llm is None or not turn.quotable:  # no passage to show a model: it abstains
            return self._extractive(turn)
        if turn.llm_error:
            return self._fallback(turn, turn.llm_error)
        prompt, passages = self._answer_messages(turn)
        try:
            draft = self._llm.model.complete(prompt, turn.deadline)
        except LLMError as exc:
            return self._fallback(turn, str(exc))
        check, rewriter = SupportCheck(passages), MarkerRewriter(len(passages))
        text = rewriter.rewrite(check.feed(draft) + check.flush()).strip()
        return self._llm_answer(turn, passages, text, rewriter, check)

    def stream(self, turn: Turn) -> Iterator[ChatEvent]:
        """The answer to a prepared turn as it is written: deltas, then the final answer.

        LLM text is shown a claim at a time, once the passages it cites support it, so an
        answer with no supported claim can still be replaced by the extractive fallback. A
        failure after text was sent ends the stream with a :class:`Failure`.
        """
        if self._llm is None or not turn.quotable:
            yield from _replay(self._extractive(turn))
            return
        if turn.llm_error:
            yield from _replay(self._fallback(turn, turn.llm_error))
            return
        prompt, passages = self._answer_messages(turn)
        check, rewriter = SupportCheck(passages), MarkerRewriter(len(passages))
        shown = ""
        pieces = self._llm.model.stream(prompt, turn.deadline)
        try:
            for piece in pieces:
                text = rewriter.feed(check.feed(piece))
                text = text if shown else text.lstrip()
                if text:
                    shown += text
                    yield Delta(text)
        except LLMError as exc:
            if turn.deadline.cancelled:
                return  # the reader has gone
            if shown:
                yield Failure("llm_failed", f"The answer broke off: {exc}.")
            else:
                yield from _replay(self._fallback(turn, str(exc)))
            return
        finally:
            pieces.close()  # a client gone away: the model's request is cancelled
        rest = rewriter.feed(check.flush()) + rewriter.flush()
        rest = rest.rstrip() if shown else rest.strip()
        answer = self._llm_answer(turn, passages, shown + rest, rewriter, check)
        if not shown:
            yield from _replay(answer)
            return
        if rest:
            yield Delta(rest)
        yield Final(answer)

    def _condense(self, messages: Sequence[Message], deadline: Deadline) -> str | None:
        """The model's standalone question, or None when it is not one: a statement, or a
        question adding names or figures that the conversation does not have."""
        assert self._llm is not None
        reply = self._llm.model.complete(
            condense_messages(self._llm.prompts, messages[:-1], messages[-1].content), deadline
        )
        condensed = " ".join(reply.split())
        if not condensed or len(condensed) > MAX_CONDENSED_CHARS:
            raise LLMError("the model's standalone question was unusable")
        conversation = facts_context("\n".join(m.content for m in messages))
        if not condensed.endswith("?") or adds_facts(condensed, [conversation]):
            logger.info("the model's standalone question was not kept: %.300s", condensed)
            return None
        return condensed

    def _answer_messages(self, turn: Turn) -> tuple[ChatMessages, list[Passage]]:
        """The answer prompt, and the passages it shows (as many as its token budget holds)."""
        assert self._llm is not None
        return fitted_answer_messages(
            self._llm.prompts,
            turn.asked,
            turn.quotable,
            self._clock(),
            turn.scope,
            self._llm.prompt_tokens,
        )

    def _llm_answer(
        self,
        turn: Turn,
        passages: list[Passage],
        text: str,
        rewriter: MarkerRewriter,
        check: SupportCheck,
    ) -> ChatAnswer:
        """The model's supported claims as the answer; else an abstention or a fallback."""
        if not rewriter.order:
            if re.sub(r"\W+", " ", check.draft).strip().upper().startswith(NO_ANSWER):
                return extractive.abstain(turn.question, turn.passages, mode="llm")
            if check.cited:
                reason = "none of the model's sentences is supported by the passage it cites"
                return self._fallback(turn, reason, llm_support=0.0)
            return self._fallback(turn, "the model's answer cited none of the passages")
        sources = [Source(p) for p in passages]
        return ChatAnswer(
            answer=text,
            answered=True,
            citations=cite(text, rewriter.order, sources),
            mode="llm",
            question=turn.query,
            retrieved=turn.passages,
            llm_support=check.share_kept,
        )

    def _extractive(self, turn: Turn) -> ChatAnswer:
        """The answer quoted from the documents. On a question about this week for which no
        passage of that fortnight was found, a refusal saying so, naming the closest (older)
        sources."""
        quotable = turn.quotable
        if turn.scope.strict and not quotable:
            return extractive.abstain(turn.question, turn.passages, extractive.STALE)
        return extractive.answer(
            turn.question,
            quotable,
            turn.scope,
            turn.query_vector,
            self._embed_short,
            self._decide,
            lambda text: self._retriever.mentions(text, turn.filters),
        )

    def _fallback(self, turn: Turn, reason: str, llm_support: float | None = None) -> ChatAnswer:
        logger.info("falling back to an extractive answer: %s", reason)
        metrics.LLM_FALLBACKS.inc()
        notice = f"The language model failed ({reason}); this answer is quoted from the documents."
        return dataclasses.replace(self._extractive(turn), notice=notice, llm_support=llm_support)


def _replay(answer: ChatAnswer) -> Iterator[ChatEvent]:
    """A finished answer as events: one delta per paragraph, then the answer."""
    for paragraph in re.findall(r".+?(?:\n\n|$)", answer.answer, flags=re.DOTALL):
        yield Delta(paragraph)
    yield Final(answer)
