"""Assertions shared by the chat tests."""

import json
import re
from collections.abc import Iterable
from typing import Any

from service.chat.answerer import Answerer
from service.chat.types import ChatAnswer, ChatResponse, Message

MAY = "2025-05-23-us-signals-end-of-haiti-mission-funding.md"
FEBRUARY = "2025-02-07-us-exempts-haiti-mission-from-aid-freeze.md"
SEPTEMBER = "2023-09-23-us-offers-100m-for-kenya-led-haiti-mission.md"


def ask(answerer: Answerer, *turns: str) -> ChatAnswer:
    """Ask ``turns`` in order, each with the conversation so far; the last answer."""
    messages: list[Message] = []
    answer = None
    for turn in turns:
        messages.append(Message("user", turn))
        answer = answerer.answer(messages)
        messages.append(Message("assistant", answer.answer))
    assert answer is not None
    return answer


def assert_citations_valid(answer: ChatAnswer | ChatResponse, chunk_texts: dict[str, str]) -> None:
    """Markers are numbered from 1 by first use, one citation each, all used, quotes verbatim."""
    used = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)))
    assert used == list(range(1, len(used) + 1)), answer.answer
    assert [c.marker for c in answer.citations] == used
    for citation in answer.citations:
        assert citation.quote.strip()
        assert citation.quote in chunk_texts[citation.chunk_id]
        assert citation.document_id == citation.chunk_id.split("::")[0]


def read_events(lines: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """Parse Server-Sent Events (``event:`` and ``data:`` lines) into ``(name, data)`` pairs."""
    events: list[tuple[str, dict[str, Any]]] = []
    name, data = "message", ""
    for line in lines:
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data += line.removeprefix("data:").strip()
        elif not line and data:
            events.append((name, json.loads(data)))
            name, data = "message", ""
    return events
