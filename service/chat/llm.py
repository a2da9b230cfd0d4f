"""The language model: any OpenAI-compatible chat completions server, through the openai client.

Replies are always streamed, and every wait is bounded by the clock, whatever the server does
(a body trickled byte by byte, an endless stream, a huge reply). Every failure (timeout,
connection, HTTP error, a reply that is not what the API promises) becomes :class:`LLMError`,
which the answerer turns into an extractive fallback.
"""

import asyncio
import dataclasses
import datetime as dt
import logging
import math
import re
import threading
import time
from collections.abc import AsyncGenerator, Coroutine, Generator, Iterator, Sequence
from contextlib import contextmanager

import openai
from openai.types.chat import ChatCompletionMessageParam

from ingestion.sentences import split_sentences
from service import metrics
from service.chat.dates import TimeScope, format_date
from service.chat.injection import without_injected
from service.chat.prompts import Prompts
from service.chat.types import Message
from service.retrieval import Passage

logger = logging.getLogger(__name__)

NO_ANSWER = "NOT IN DOCUMENTS"  # the reply the prompts ask for when the passages do not answer
MAX_HISTORY_CHARS = 1500  # of each earlier message, in the condense prompt
MAX_REPLY_CHARS = 32_000  # far beyond any answer: a longer reply is a misbehaving server
CHARS_PER_TOKEN = 3.5  # prompt tokens are estimated (tokenisers differ): fewer than most write
RETRIED_STATUSES = {408, 409, 429} | set(range(500, 600))
# A document's own "<passage>" or "</passage>" (any case or spacing) would move the boundary.
_DELIMITER = re.compile(r"<\s*/?\s*passage\b", re.IGNORECASE)
RETRY_PAUSE = 0.5  # seconds before the first retry, growing with each
POLL_SECONDS = 0.2  # how often a wait for the model looks whether its answer was cancelled

ChatMessages = list[ChatCompletionMessageParam]


class LLMError(Exception):
    """The language model failed; the message says how (no secrets, no prompt text)."""


class Deadline:
    """The moment an answer stops waiting for the model (one per answer, for all its calls),
    or sooner when it is cancelled: its reader has gone (from any thread)."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds
        self.cancelled = False

    def remaining(self) -> float:
        return 0.0 if self.cancelled else self._end - time.monotonic()

    def cancel(self) -> None:
        self.cancelled = True


def prompt_tokens(messages: ChatMessages) -> int:
    """An estimate of the tokens ``messages`` take in a prompt (a few per message, plus text)."""
    text = "".join(str(m.get("content") or "") for m in messages)
    return math.ceil(len(text) / CHARS_PER_TOKEN) + 4 * len(messages)


class ChatModel:
    """Chat completions from one model of an OpenAI-compatible server, streamed.

    A reply's first token must come within ``first_token_timeout`` seconds (a CPU model reads
    the whole prompt first), each next piece within ``timeout``, and all of it before the
    answer's :class:`Deadline`. Giving up cancels the request, which closes its connection, so
    the server stops generating. HTTP 408/409/429/5xx and refused connections are retried up to
    ``max_retries`` times while the deadline allows; a timeout is not (the server may still be
    busy with the request).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        first_token_timeout: float,
        timeout: float,
        max_retries: int = 0,
        max_tokens: int | None = None,
    ) -> None:
        self.model = model
        self._base_url = base_url
        self._api_key = api_key or "unused"
        self._first_token_timeout = first_token_timeout
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_tokens = max_tokens

    def complete(self, messages: ChatMessages, deadline: Deadline) -> str:
        """The model's whole reply."""
        content = "".join(self.stream(messages, deadline))
        if not content.strip():
            raise LLMError("the model returned an empty reply")
        return content

    def stream(self, messages: ChatMessages, deadline: Deadline) -> Generator[str, None, None]:
        """The model's reply in pieces, as they arrive; :class:`LLMError` when a wait runs out.

        Each piece is awaited on this generator's own event loop for at most what its wait
        allows (looking every :data:`POLL_SECONDS` whether the deadline was cancelled); closing
        the generator early cancels the request too.
        """
        tokens = prompt_tokens(messages)
        metrics.LLM_PROMPT_TOKENS.observe(tokens)
        logger.info("LLM request: about %d prompt tokens", tokens)
        loop = asyncio.new_event_loop()
        pieces = self._pieces(messages, deadline)
        received = 0
        try:
            while True:
                limit = self._timeout if received else self._first_token_timeout
                with _llm_errors(started=bool(received)):
                    piece = _await(loop, _next(pieces), time.monotonic() + limit, deadline)
                if piece is None:
                    return
                received += len(piece)
                if received > MAX_REPLY_CHARS:
                    raise _failed("the model's reply was too long", ValueError(received))
                yield piece
        finally:
            _close(loop, pieces)

    async def _pieces(
        self, messages: ChatMessages, deadline: Deadline
    ) -> AsyncGenerator[str, None]:
        """The reply's text pieces; the caller bounds each wait (``timeout=None`` here)."""
        async with openai.AsyncOpenAI(
            base_url=self._base_url, api_key=self._api_key, max_retries=0, timeout=None
        ) as client:
            attempt = 0
            while True:
                try:
                    chunks = await client.chat.completions.create(
                        model=self.model,
                        messages=messages,
                        temperature=0,
                        stream=True,
                        max_tokens=self._max_tokens or openai.omit,
                    )
                    break
                except openai.APIError as exc:
                    if attempt == self._max_retries or not _retried(exc):
                        raise
                    attempt += 1
                    logger.info("LLM call failed (%s), retry %d", type(exc).__name__, attempt)
                    await asyncio.sleep(max(0.0, min(RETRY_PAUSE * attempt, deadline.remaining())))
            async with chunks:
                async for chunk in chunks:
                    if chunk.usage is not None:
                        logger.info("LLM usage: %d prompt tokens", chunk.usage.prompt_tokens)
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content


async def _next(pieces: AsyncGenerator[str, None]) -> str | None:
    """The next piece, or None at the end."""
    return await anext(pieces, None)


def _await(
    loop: asyncio.AbstractEventLoop,
    step: Coroutine[None, None, str | None],
    give_up: float,
    deadline: Deadline,
) -> str | None:
    """Run ``step`` on ``loop`` until it is done, ``give_up`` (a monotonic time) comes or the
    deadline ends; then cancel it (the request's connection closes) and raise."""
    task = loop.create_task(step)
    while not task.done():
        wait = min(give_up - time.monotonic(), deadline.remaining())
        if wait <= 0:
            task.cancel()
            loop.run_until_complete(asyncio.wait({task}))
            if deadline.cancelled:
                raise LLMError("the answer was cancelled")
            raise TimeoutError
        loop.run_until_complete(asyncio.wait({task}, timeout=min(wait, POLL_SECONDS)))
    return task.result()


def _close(loop: asyncio.AbstractEventLoop, pieces: AsyncGenerator[str, None]) -> None:
    """Cancel what is left of a request (closing its connection), then the loop.

    A generator closed from a thread running another event loop (a garbage-collected stream)
    cannot run this loop there: the closing then happens on a thread of its own.
    """

    def close() -> None:
        try:
            loop.run_until_complete(pieces.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())  # the client's inner ones
        except Exception as exc:  # the connection may already be broken
            logger.debug("closing the LLM request: %s", exc)
        finally:
            loop.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        close()
    else:
        threading.Thread(target=close, daemon=True).start()


def _retried(exc: openai.APIError) -> bool:
    """Whether a failed request is worth another try: an answer the server may not give again,
    or a connection refused; never a timeout."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRIED_STATUSES
    return isinstance(exc, openai.APIConnectionError) and not isinstance(
        exc, openai.APITimeoutError
    )


@contextmanager
def _llm_errors(started: bool = False) -> Iterator[None]:
    """Turn whatever the client raises into :class:`LLMError`; ``started`` once text came."""
    try:
        yield
    except LLMError:
        raise
    except (TimeoutError, openai.APITimeoutError) as exc:
        reason = (
            "the model did not finish in time" if started else "the model did not answer in time"
        )
        raise _failed(reason, exc) from exc
    except openai.APIStatusError as exc:
        raise _failed(f"the model server answered HTTP {exc.status_code}", exc) from exc
    except openai.APIConnectionError as exc:
        raise _failed("the model server is unreachable", exc) from exc
    except Exception as exc:  # the client's parsing errors have no common base class
        raise _failed(
            f"the model server sent a malformed reply ({type(exc).__name__})", exc
        ) from exc


def _failed(reason: str, exc: BaseException) -> LLMError:
    logger.warning("LLM call failed: %s: %s", reason, exc)
    return LLMError(reason)


def answer_messages(
    prompts: Prompts,
    question: str,
    passages: Sequence[Passage],
    today: dt.date,
    scope: TimeScope | None = None,
) -> ChatMessages:
    """The system and user messages asking for a cited answer to ``question``.

    The question's time scope is spelled out: the date it is asked "as of" (answer from the
    passages published by then), the start of a change it asks about, or the present.
    """
    return [
        {"role": "system", "content": prompts.render("system", today=format_date(str(today)))},
        {
            "role": "user",
            "content": prompts.render(
                "answer",
                passages=format_passages(passages),
                question=question,
                scope=describe_scope(scope or TimeScope()),
            ),
        },
    ]


def fitted_answer_messages(
    prompts: Prompts,
    question: str,
    passages: Sequence[Passage],
    today: dt.date,
    scope: TimeScope | None,
    budget: int,
) -> tuple[ChatMessages, list[Passage]]:
    """:func:`answer_messages` with the leading passages that fit ``budget`` prompt tokens
    (estimated), and those passages; the first is cut to its leading sentences if need be."""
    shown: list[Passage] = []
    messages = answer_messages(prompts, question, shown, today, scope)
    for passage in passages:
        candidate = answer_messages(prompts, question, [*shown, passage], today, scope)
        if prompt_tokens(candidate) > budget:
            if not shown:
                shown = [_cut(passage, budget - prompt_tokens(messages))]
                messages = answer_messages(prompts, question, shown, today, scope)
            break
        shown, messages = [*shown, passage], candidate
    logger.info(
        "answer prompt: %d of %d passages, %d tokens",
        len(shown),
        len(passages),
        prompt_tokens(messages),
    )
    return messages, shown


def _cut(passage: Passage, tokens: int) -> Passage:
    """``passage`` with its text cut to the leading sentences that fit ``tokens`` (one at least)."""
    room = max(0, int(tokens * CHARS_PER_TOKEN) - len(passage.title) - len(passage.source) - 60)
    spans = split_sentences(passage.text) or [(0, len(passage.text))]
    end = max([spans[0][1]] + [e for _, e in spans if e <= room])
    return dataclasses.replace(passage, text=passage.text[:end])


def describe_scope(scope: TimeScope) -> str:
    """One line telling the model which passages the question's dates point to ("" if none)."""
    if scope.end is not None and scope.start is not None:
        return (
            f"Time scope: from {format_date(str(scope.start))} to {format_date(str(scope.end))};"
            " answer from the passages published in that period, newest first."
        )
    if scope.year is not None:
        return (
            f"Time scope: the year {scope.year}; answer from the passages published by its end"
            " or reporting on it, the most recent first, and give their dates."
        )
    if scope.end is not None:
        return (
            f"Time scope: as of {format_date(str(scope.end))}; answer from the most recent "
            "passages published on or before that date, and say that date."
        )
    if scope.start is not None:
        return (
            f"Time scope: since {format_date(str(scope.start))}; give the change from the "
            "passages published since then, newest first."
        )
    if scope.present:
        return "Time scope: the present; lead with the most recent dated passage."
    return ""


def format_passages(passages: Sequence[Passage]) -> str:
    """Each passage numbered from 1, with its title, date ("undated" if none) and source, then
    its text, without sentences addressed to an assistant, between ``<passage>`` delimiters
    that nothing from a document can open or close."""
    blocks = []
    for number, passage in enumerate(passages, start=1):
        date = format_date(passage.published) or "undated"
        title = " ".join(passage.title.split())  # one line: a title cannot fake a header
        header = f"[{number}] “{title}”, published {date}, {' '.join(passage.source.split())}"
        text = without_injected(passage.text)  # injected text is never shown as evidence
        header, text = _DELIMITER.sub(_defuse, header), _DELIMITER.sub(_defuse, text)
        blocks.append(f"{header}\n<passage>\n{text}\n</passage>")
    return "\n\n".join(blocks)


def _defuse(tag: re.Match[str]) -> str:
    """A delimiter-like tag in a document, with its "<" replaced so it delimits nothing."""
    return "‹" + tag.group()[1:]


def condense_messages(prompts: Prompts, history: Sequence[Message], question: str) -> ChatMessages:
    """The messages asking to rewrite ``question`` as a standalone question."""
    lines = [f"{m.role}: {_clip(m.content)}" for m in history]
    return [
        {
            "role": "user",
            "content": prompts.render("condense", history="\n".join(lines), question=question),
        }
    ]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_HISTORY_CHARS else text[:MAX_HISTORY_CHARS] + " …"
