"""The language model: any OpenAI-compatible chat completions server, through the openai client.

Every failure (timeout, connection, HTTP error, a reply that is not what the API promises)
becomes :class:`LLMError`, which the answerer turns into an extractive fallback.
"""

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import openai

from service.chat.dates import TimeScope, format_date
from service.chat.injection import without_injected
from service.chat.prompts import Prompts
from service.chat.types import Message
from service.retrieval import Passage

logger = logging.getLogger(__name__)

NO_ANSWER = "NOT IN DOCUMENTS"  # the reply the prompts ask for when the passages do not answer
MAX_HISTORY_CHARS = 1500  # of each earlier message, in the condense prompt

ChatMessages = list[dict[str, str]]


class LLMError(Exception):
    """The language model failed; the message says how (no secrets, no prompt text)."""


class ChatModel:
    """Chat completions from one model of an OpenAI-compatible server."""

    def __init__(
        self, base_url: str, api_key: str, model: str, timeout: float, max_retries: int = 0
    ) -> None:
        self.model = model
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "unused",
            timeout=timeout,
            max_retries=max_retries,
        )

    def complete(self, messages: ChatMessages) -> str:
        """The model's whole reply."""
        with _llm_errors():
            response = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=0,  # type: ignore[arg-type]
            )
            content = response.choices[0].message.content
        if not content or not content.strip():
            raise LLMError("the model returned an empty reply")
        return content

    def stream(self, messages: ChatMessages) -> Iterator[str]:
        """The model's reply in pieces, as they arrive."""
        with _llm_errors():
            chunks = self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=0,
                stream=True,
            )
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content


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
    its text without sentences addressed to an assistant."""
    blocks = []
    for number, passage in enumerate(passages, start=1):
        header = f"[{number}] “{passage.title}”, published {format_date(passage.published)}, "
        text = without_injected(passage.text)  # injected text is never shown as evidence
        blocks.append(f"{header}{passage.source}\n<passage>\n{text}\n</passage>")
    return "\n\n".join(blocks)


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
