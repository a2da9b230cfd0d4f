"""YAML front matter, parsed with limits: a hostile header fails alone, and fast.

PyYAML's C loader segfaults on deeply nested input, and aliases let a few hundred bytes stand
for gigabytes once the value is walked. So the header is size-capped and read by the pure-Python
safe loader with aliases refused and nesting depth bounded.
"""

from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

MAX_HEADER_CHARS = 64 * 1024
MAX_DEPTH = 20
_HANDLER = YAMLHandler()


class FrontMatterError(Exception):
    """Front matter that cannot be used; the message says why, for the user."""


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader without aliases and with at most ``MAX_DEPTH`` nested collections."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise FrontMatterError("malformed front matter: aliases (*name) are not allowed")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise FrontMatterError(
                f"malformed front matter: nested more than {MAX_DEPTH} levels deep"
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def split_front_matter(content: str) -> tuple[dict[str, Any], str]:
    """The front matter's ``key: value`` pairs (empty without front matter) and the body."""
    if not _HANDLER.detect(content):
        return {}, content
    try:
        header, body = _HANDLER.split(content)
    except ValueError:
        raise FrontMatterError("malformed front matter: no closing '---' line") from None
    if len(header) > MAX_HEADER_CHARS:
        raise FrontMatterError(f"malformed front matter: longer than {MAX_HEADER_CHARS} characters")
    try:
        meta = _HANDLER.load(header, Loader=_BoundedLoader)
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"malformed front matter: {str(exc).splitlines()[0]}") from exc
    except ValueError as exc:  # PyYAML builds dates itself and rejects impossible ones
        raise FrontMatterError(f"impossible date in front matter: {exc}") from exc
    if meta is None:
        return {}, body
    if not isinstance(meta, dict):
        raise FrontMatterError("malformed front matter: expected key: value pairs")
    return meta, body
