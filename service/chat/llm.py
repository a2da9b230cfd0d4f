"""The language model: any OpenAI-compatible chat completions server, through the openai client.

Every failure (timeout, connection, HTTP error, a reply that is not what the API promises)
becomes :class:`LLMError`, which the answerer turns into an extractive fallback.
"""

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import openai
from openai.types.chat import ChatCompletionMessageParam

from service.chat.dates import TimeScope, format_date
from service.chat.injection import without_injected
from service.chat.prompts import Prompts
from service.chat.types import Message
from service.retrieval import Passage

logger = logging.getLogger(__name__)

NO_ANSWER = "NOT IN DOCUMENTS"  # the reply the prompts ask for when the passages do not answer
MAX_HISTORY_CHARS = 1500  # of each earlier message, in the condense prompt
RETRIED_STATUSES = {408, 409, 429} | set(range(500, 600))
# A document's own "<passage>" or "</passage>" (any case or spacing) would move the boundary.
_DELIMITER = re.compile(r"<\s*/?\s*passage\b", re.IGNORECASE)
RETRY_PAUSE = 0.5  # seconds before the first retry, growing with each

ChatMessages = list[ChatCompletionMessageParam]
T = TypeVar("T")


class LLMError(Exception):
    """The language model failed; the message says how (no secrets, no prompt text)."""


class Deadline:
    """The moment an answer stops waiting for the model (one per answer, for all its calls)."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()


class ChatModel:
    """Chat completions from one model of an OpenAI-compatible server.

    Each request waits at most ``timeout`` seconds for the next bytes, and never past the
    answer's :class:`Deadline`; a timeout, a lost connection, 429 or 5xx is retried up to
    ``max_retries`` times while the deadline allows.
    """

    def __init__(
        self, base_url: str, api_key: str, model: str, timeout: float, max_retries: int = 0
    ) -> None:
        self.model = model
        self._timeout = timeout
        self._max_retries = max_retries
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "unused", max_retries=0)

    def complete(self, messages: ChatMessages, deadline: Deadline) -> str:
        """The model's whole reply."""
        with _llm_errors():
            response = self._retrying(
                deadline,
                lambda client: client.chat.completions.create(
                    model=self.model, messages=messages, temperature=0, stream=False
                ),
            )
            content = response.choices[0].message.content
        if not content or not content.strip():
            raise LLMError("the model returned an empty reply")
        return content

    def stream(self, messages: ChatMessages, deadline: Deadline) -> Iterator[str]:
        """The model's reply in pieces, as they arrive, until the deadline."""
        with _llm_errors():
            chunks = self._retrying(
                deadline,
                lambda client: client.chat.completions.create(
                    model=self.model, messages=messages, temperature=0, stream=True
                ),
            )
            with chunks:
                for chunk in chunks:
                    if deadline.remaining() <= 0:
                        raise _failed("the model did not finish in time", TimeoutError())
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content

    def _retrying(self, deadline: Deadline, call: Callable[[openai.OpenAI], T]) -> T:
        """``call`` on a client whose timeout ends by the deadline, retried as the class says."""
        attempt = 0
        while True:
            remaining = deadline.remaining()
            if remaining <= 0:
                raise _failed("the model did not answer in time", TimeoutError())
            client = self._client.with_options(timeout=min(self._timeout, remaining))
            try:
                return call(client)
            except openai.APIError as exc:
                if attempt == self._max_retries or not _retried(exc):
                    raise
                attempt += 1
                logger.info("LLM call failed (%s), retry %d", type(exc).__name__, attempt)
                time.sleep(max(0.0, min(RETRY_PAUSE * attempt, deadline.remaining())))


def _retried(exc: openai.APIError) -> bool:
    """Whether a failed request is worth another try: the statuses the openai client retries."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRIED_STATUSES
    return isinstance(exc, openai.APIConnectionError)  # APITimeoutError is one


@contextmanager
def _llm_errors() -> Iterator[None]:
    """Turn whatever the client raises into :class:`LLMError`."""
    try:
        yield
    except LLMError:
        raise
    except openai.APITimeoutError as exc:
        raise _failed("the model did not answer in time", exc) from exc
    except openai.APIStatusError as exc:
        raise _failed(f"the model server answered HTTP {exc.status_code}", exc) from exc
    except openai.APIConnectionError as exc:
        raise _failed("the model server is unreachable", exc) from exc
    except Exception as exc:  # the client's parsing errors have no common base class
        raise _failed(
            f"the model server sent a malformed reply ({type(exc).__name__})", exc
        ) from exc


def _failed(reason: str, exc: Exception) -> LLMError:
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
