"""Checks on request text whose limits come from settings."""

from service.api.schemas import ChatMessage
from service.chat.types import Message
from service.errors import InvalidRequest
from service.settings import Settings


def check_unicode(field: str, value: str) -> str:
    """Reject text that is not valid Unicode: a lone surrogate (JSON ``"\\ud800"``, or an
    undecodable byte of a command-line argument) cannot be encoded, embedded or sent on."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequest(
            f"{field}: invalid character at position {exc.start} (not valid Unicode text)"
        ) from None
    return value


def check_text(field: str, value: str, max_chars: int) -> str:
    """Return ``value`` stripped; reject it when empty, longer than ``max_chars`` or not
    valid Unicode."""
    text = check_unicode(field, value).strip()
    if not text:
        raise InvalidRequest(f"{field}: must not be empty")
    if len(text) > max_chars:
        raise InvalidRequest(f"{field}: at most {max_chars} characters allowed, got {len(text)}")
    return text


def check_messages(messages: list[ChatMessage], settings: Settings) -> list[Message]:
    """The conversation as chat messages; :class:`InvalidRequest` says what is wrong with it."""
    if not messages:
        raise InvalidRequest("messages: at least one message (the question) is required")
    if len(messages) > settings.max_messages:
        raise InvalidRequest(
            f"messages: at most {settings.max_messages} messages allowed, got {len(messages)}"
        )
    if messages[-1].role != "user":
        raise InvalidRequest("messages: the last message must be the user's question")
    question = check_text("question", messages[-1].content, settings.max_question_chars)
    history = [
        Message(m.role, check_unicode(f"messages.{i}.content", m.content))
        for i, m in enumerate(messages[:-1])
    ]
    return [*history, Message("user", question)]
