"""Read files into plain-text documents with their metadata.

Markdown and text (optional YAML front matter), HTML (through trafilatura) and PDF (text layer).
A file that cannot be used becomes a :class:`LoadError` naming the reason; discovery reports
what it skips (links leaving the folder, unlistable folders, unsafe names) the same way.
"""

import datetime as dt
import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath

from ingestion.front_matter import FrontMatterError, split_front_matter
from ingestion.html_tags import strip_html

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
MAX_ID_CHARS = 512
_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# Unicode categories never allowed in ids: control (Cc), format (Cf: zero-width, bidi and
# other invisible characters), surrogates (Cs, undecodable bytes) and line/paragraph breaks.
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
# Bidirectional classes of the characters that reorder text: dropped from titles.
_BIDI_CONTROLS = set("LRE RLE LRO RLO PDF LRI RLI FSI PDI LRM RLM ALM".split())
_SHOWN_CHARS = 300
_HTML_FIELDS = {"title": "title", "source": "url", "published": "date", "text": "text"}


class LoadError(Exception):
    """A file that cannot be ingested; the message is the reason shown to the user."""


@dataclass(frozen=True)
class FileLimits:
    """What one file may hold and expand to (``IndexSettings.file_limits``)."""

    max_bytes: int
    max_pdf_pages: int
    max_text_chars: int
    max_parse_seconds: float
    max_parse_memory_bytes: int
    max_title_chars: int
    max_source_chars: int


@dataclass(frozen=True)
class LoadedDocument:
    document_id: str
    title: str
    source: str
    published: str  # ISO date or ""
    text: str

    @property
    def content_hash(self) -> str:
        """Hash of everything stored for the document: text and metadata."""
        payload = "\x1f".join([self.title, self.source, self.published, self.text])
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class Found:
    """A supported file under a folder given, with the id it is stored under."""

    path: Path
    document_id: str


@dataclass
class Discovery:
    files: list[Found]
    failed: list[tuple[str, str]]  # (path as shown, reason)
    unlisted: list[PurePath]  # unreadable folders, relative to the one given: kept from pruning


def discover(path: Path) -> Discovery:
    """The supported files under ``path`` (a folder, recursively, or one file), sorted.

    Document ids are relative to the folder given, or to the parent of a file given. Symbolic
    links are followed only to files inside the folder; other links, loops, dangling links,
    special files and unsafe names are reported and skipped. A missing ``path`` raises
    :class:`FileNotFoundError`.
    """
    if path.is_file():
        return Discovery([Found(path, _checked_id(path.name))], [], [])
    if not path.is_dir():
        raise FileNotFoundError(f"{shown(path)}: no such file or folder")
    found = Discovery([], [], [])
    inside = path.resolve()

    def unlistable(exc: OSError) -> None:
        folder = Path(exc.filename or path)
        found.unlisted.append(PurePath(folder.relative_to(path)))
        found.failed.append((shown(folder), f"folder not read: {exc.strerror or exc}"))

    for folder, dirs, files in os.walk(path, onerror=unlistable):
        dirs.sort()
        for name in list(dirs):
            if os.path.islink(os.path.join(folder, name)):
                dirs.remove(name)
                found.failed.append((shown(Path(folder, name)), "link to a folder: not followed"))
        for name in sorted(files):
            file = Path(folder, name)
            if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            try:
                _check_link(file, inside)
                found.files.append(Found(file, _checked_id(file.relative_to(path))))
            except LoadError as exc:
                found.failed.append((shown(file), str(exc)))
    found.files.sort(key=lambda f: f.document_id)
    return found


def check_document_id(document_id: str) -> str:
    """Return ``document_id`` if it is a safe id; raise :class:`LoadError` saying why not.

    Ids are NFC-normalised relative POSIX paths (the normalised id is returned): no empty,
    ``.`` or ``..`` parts, no backslashes, and no control, format (zero-width, bidi) or
    undecodable characters that could disguise one id as another.
    """
    document_id = unicodedata.normalize("NFC", document_id)
    if not document_id or len(document_id) > MAX_ID_CHARS:
        raise LoadError(f"document id must be 1 to {MAX_ID_CHARS} characters")
    if any(_unsafe(char) for char in document_id):
        raise LoadError("name has control, zero-width, bidi or undecodable characters")
    parts = document_id.split("/")
    if "\\" in document_id or any(part in ("", ".", "..") for part in parts):
        raise LoadError("document id must be a relative path without '.', '..' or '\\' parts")
    return document_id


def load_document(path: Path, document_id: str, limits: FileLimits) -> LoadedDocument:
    """Load one file; raise :class:`LoadError` with the reason when it cannot be used."""
    max_bytes = limits.max_bytes
    try:  # non-blocking: opening a named pipe must not wait for a writer
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise LoadError("not a regular file")
            if info.st_size > max_bytes:
                raise LoadError(_too_large(info.st_size, max_bytes))
            raw = file.read(max_bytes + 1)
    except OSError as exc:
        raise LoadError(f"unreadable: {exc.strerror or exc}") from exc
    if len(raw) > max_bytes:  # grew while being read
        raise LoadError(_too_large(len(raw), max_bytes))
    return read_document(raw, path.name, document_id, limits)


def read_document(
    raw: bytes,
    name: str,
    document_id: str,
    limits: FileLimits,
    *,
    title: str = "",
    source: str = "",
    published: str = "",
) -> LoadedDocument:
    """Parse a file's bytes by the suffix of ``name``; non-empty arguments override metadata.

    A file past ``limits`` (pages, characters of text, seconds, title or source length)
    raises :class:`LoadError` saying which.
    """
    name = unicodedata.normalize("NFC", name)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in PDF_SUFFIXES:
        from ingestion.pdf_text import read_pdf  # which imports this module

        meta = read_pdf(raw, limits)
    elif suffix in SUPPORTED_SUFFIXES:
        content = _decode(raw)
        if suffix in HTML_SUFFIXES:
            meta = _read_html(content)
        else:
            meta = _read_text(content, markdown=suffix in MARKDOWN_SUFFIXES)
    else:
        raise LoadError(f"unsupported file type {suffix or name!r}")
    text = meta["text"].strip()
    if not text:
        raise LoadError("no text")
    _check_length("text", text, limits.max_text_chars, "CITECHAT_MAX_TEXT_CHARS")
    date = _normalise_date(published or meta["published"]) or _date_from_name(name)
    doc = LoadedDocument(
        document_id=document_id,
        title=_one_line(title or meta["title"]) or PurePosixPath(name).stem,
        source=_one_line(source or meta["source"]),
        published=date,
        text=text,
    )
    _check_length("title", doc.title, limits.max_title_chars, "CITECHAT_MAX_TITLE_CHARS")
    _check_length("source", doc.source, limits.max_source_chars, "CITECHAT_MAX_SOURCE_CHARS")
    return doc


def _check_length(field: str, value: str, max_chars: int, setting: str) -> None:
    if len(value) > max_chars:
        raise LoadError(
            f"{field}: at most {max_chars} characters allowed, got {len(value)} ({setting})"
        )


def shown(value: Path | str) -> str:
    """A path or name as safe to print: undecodable bytes, control and bidi characters
    escaped; shortened in the middle past 300 characters."""
    text = os.fsencode(value).decode("utf-8", "backslashreplace")
    text = "".join(_escaped(char) if _unsafe(char) else char for char in text)
    if len(text) > _SHOWN_CHARS:
        half = _SHOWN_CHARS // 2
        text = f"{text[:half]}...{text[-half:]}"
    return text


def _escaped(char: str) -> str:
    return char.encode("unicode_escape").decode()


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def _reorders(char: str) -> bool:
    return unicodedata.bidirectional(char) in _BIDI_CONTROLS


def _checked_id(relative: Path | str) -> str:
    try:
        name = os.fsencode(relative).decode("utf-8")
    except UnicodeDecodeError:
        raise LoadError("file name is not valid UTF-8") from None
    return check_document_id(Path(name).as_posix())


def _check_link(file: Path, inside: Path) -> None:
    if not file.is_symlink():
        return
    try:
        target = Path(os.path.realpath(file, strict=True))
    except FileNotFoundError:
        raise LoadError("dangling link: its target does not exist") from None
    except OSError as exc:
        raise LoadError(f"link not followed: {exc.strerror or exc}") from None
    if not target.is_relative_to(inside):
        raise LoadError(f"link to a file outside {shown(inside)}: not followed")


def _too_large(size: int, max_bytes: int) -> str:
    return f"file too large: {size} bytes, at most {max_bytes} (CITECHAT_MAX_FILE_BYTES)"


def _decode(raw: bytes) -> str:
    if b"\x00" in raw:
        raise LoadError("binary content in a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8 text (byte {exc.start})") from exc


def _read_text(content: str, markdown: bool) -> dict[str, str]:
    try:
        meta, body = split_front_matter(content)
    except FrontMatterError as exc:
        raise LoadError(str(exc)) from exc
    return {
        "title": _text_field(meta, "title"),
        "source": _text_field(meta, "source") or _text_field(meta, "url"),
        "published": _date_field(meta),
        "text": strip_html(body) if markdown else body,
    }


def _text_field(meta: dict[str, object], key: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise LoadError(f"front matter {key!r} must be text, got {type(value).__name__}")
    return value


def _date_field(meta: dict[str, object]) -> str:
    value = meta.get("published") or meta.get("date")
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise LoadError(f"front matter 'published' must be a date, got {type(value).__name__}")
    return value


def _read_html(content: str) -> dict[str, str]:
    import trafilatura

    try:
        extracted = trafilatura.bare_extraction(content, with_metadata=True, favor_recall=True)
    except Exception as exc:  # the extractor has no error hierarchy of its own
        raise LoadError(f"unreadable HTML: {exc}") from exc
    if extracted is None:
        raise LoadError("no main text found in HTML")
    doc = extracted.as_dict() if hasattr(extracted, "as_dict") else dict(extracted)
    return {key: str(doc.get(name) or "") for key, name in _HTML_FIELDS.items()}


def _one_line(value: str) -> str:
    """``value`` on one line: bidi controls dropped, line breaks and control characters made
    spaces, runs of spaces collapsed."""
    kept = "".join(" " if _breaks(char) else char for char in value if not _reorders(char))
    return " ".join(kept.split())


def _breaks(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")


def _normalise_date(value: str) -> str:
    """Return an ISO date from front matter or meta tags; raise on an impossible one."""
    text = value.strip()
    if not text:
        return ""
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise LoadError(f"impossible date {shown(text)!r}: expected YYYY-MM-DD") from exc


def _date_from_name(name: str) -> str:
    match = _DATE_IN_NAME.search(name)
    if not match:
        return ""
    try:
        return dt.date(*map(int, match.groups())).isoformat()
    except ValueError:
        return ""
