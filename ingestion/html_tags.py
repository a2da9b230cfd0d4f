"""Raw HTML inside Markdown: tags go, their text stays, so answers never quote markup.

Markdown allows inline HTML; a reader sees the text of ``<b>bold</b>`` and nothing of a
comment, a ``<script>`` or an ``<img>``. The stored text is the stripped text, so chunk offsets
and verbatim quotes refer to what readers see. Autolinks (``<https://...>``) are Markdown, not
HTML, and stay. Every pass is linear in the text's length, whatever the text: each search
moves forward, and no pattern can scan past the next ``<``.
"""

import re

# Tags as CommonMark defines them, except that quoted attribute values may not hold "<".
_TAG = re.compile(
    r"""</?([A-Za-z][A-Za-z0-9-]*+)"""
    r"""(?:\s++[A-Za-z_:][A-Za-z0-9_.:-]*+(?:\s*+=\s*+(?:[^\s"'=<>`]++|'[^'<]*+'|"[^"<]*+"))?+)*+"""
    r"""\s*+/?>|<![A-Za-z][^<>]*+>|<\?[^<>]*?\?>"""
)
_HIDDEN_OPEN = re.compile(r"<(script|style)\b[^<>]*+>", re.IGNORECASE)
_BREAKS = {"br", "p", "div", "li", "tr", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "table"}


def strip_html(markdown: str) -> str:
    """``markdown`` without HTML comments, script and style elements, and tags."""
    if "<" not in markdown:
        return markdown
    text = _drop_hidden(_drop_comments(markdown))
    return _TAG.sub(lambda m: "\n" if (m[1] or "").lower() in _BREAKS else "", text)


def _drop_comments(text: str) -> str:
    kept, start = [], 0
    while (opening := text.find("<!--", start)) != -1:
        closing = text.find("-->", opening + 4)
        if closing == -1:  # an unclosed comment is text, as in CommonMark
            break
        kept.append(text[start:opening])
        start = closing + 3
    kept.append(text[start:])
    return "".join(kept)


def _drop_hidden(text: str) -> str:
    kept, start = [], 0
    while opening := _HIDDEN_OPEN.search(text, start):
        closer = re.compile(rf"</{opening[1]}\s*>", re.IGNORECASE).search(text, opening.end())
        if closer is None:
            break
        kept.append(text[start : opening.start()])
        start = closer.end()
    kept.append(text[start:])
    return "".join(kept)
