"""Checks on request text whose limits come from settings."""

from service.errors import InvalidRequest


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
