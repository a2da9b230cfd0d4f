"""Checks on request text whose limits come from settings."""

from service.errors import InvalidRequest


def check_text(field: str, value: str, max_chars: int) -> str:
    """Return ``value`` stripped; reject it when empty or longer than ``max_chars``."""
    text = value.strip()
    if not text:
        raise InvalidRequest(f"{field}: must not be empty")
    if len(text) > max_chars:
        raise InvalidRequest(f"{field}: at most {max_chars} characters allowed, got {len(text)}")
    return text
