"""Read files into plain-text documents with their metadata.

Markdown and text (optional YAML front matter), HTML (through trafilatura) and PDF (text layer).
A file that cannot be read becomes a :class:`LoadError` naming the reason.
"""

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import yaml

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class LoadError(Exception):
    """A file that cannot be ingested; the message is the reason shown to the user."""


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


def discover(paths: list[Path]) -> list[tuple[Path, Path]]:
    """Return ``(file, root)`` pairs for the supported files under ``paths``, sorted.

    ``root`` is the folder that document ids are relative to: the folder given, or the
    parent of a file given directly.
    """
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            root = path
            files = sorted(p for p in path.rglob("*") if p.is_file())
            found += [(f, root) for f in files if f.suffix.lower() in SUPPORTED_SUFFIXES]
        elif path.is_file():
            found.append((path, path.parent))
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def load_document(path: Path, root: Path) -> LoadedDocument:
    """Load one file; raise :class:`LoadError` with the reason when it cannot be used."""
    document_id = path.relative_to(root).as_posix()
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"unreadable: {exc.strerror or exc}") from exc
    if suffix in PDF_SUFFIXES:
        title, source, published, text = _read_pdf(path)
    else:
        if b"\x00" in raw:
            raise LoadError("binary content in a text file")
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise LoadError(f"not UTF-8 text (byte {exc.start})") from exc
        if suffix in HTML_SUFFIXES:
            title, source, published, text = _read_html(content)
        else:
            title, source, published, text = _read_text(content)
    text = text.strip()
    if not text:
        raise LoadError("no text")
    published = _normalise_date(published) or _date_from_name(path.name)
    return LoadedDocument(
        document_id=document_id,
        title=title.strip() or path.stem,
        source=source.strip(),
        published=published,
        text=text,
    )


def _read_text(content: str) -> tuple[str, str, str, str]:
    handler = frontmatter.YAMLHandler()
    meta: object = {}
    if handler.detect(content):
        header, content = handler.split(content)
        try:
            meta = handler.load(header) or {}
        except yaml.YAMLError as exc:
            raise LoadError(f"malformed front matter: {str(exc).splitlines()[0]}") from exc
        except ValueError as exc:  # PyYAML builds dates itself and rejects impossible ones
            raise LoadError(f"impossible date in front matter: {exc}") from exc
    if not isinstance(meta, dict):
        raise LoadError("malformed front matter: expected key: value pairs")
    return (
        str(meta.get("title") or ""),
        str(meta.get("source") or meta.get("url") or ""),
        meta.get("published") or meta.get("date") or "",
        content,
    )


def _read_html(content: str) -> tuple[str, str, str, str]:
    import trafilatura

    try:
        extracted = trafilatura.bare_extraction(content, with_metadata=True, favor_recall=True)
    except Exception as exc:  # the extractor has no error hierarchy of its own
        raise LoadError(f"unreadable HTML: {exc}") from exc
    if extracted is None:
        raise LoadError("no main text found in HTML")
    doc = extracted.as_dict() if hasattr(extracted, "as_dict") else dict(extracted)
    return (
        doc.get("title") or "",
        doc.get("url") or "",
        doc.get("date") or "",
        doc.get("text") or "",
    )


def _read_pdf(path: Path) -> tuple[str, str, str, str]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
        info = reader.metadata or {}
    except Exception as exc:  # pypdf raises many types on damaged files
        raise LoadError(f"unreadable PDF: {exc}") from exc
    return str(info.get("/Title") or ""), "", "", text


def _normalise_date(value: object) -> str:
    """Return an ISO date from front matter or meta tags; raise on an impossible one."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    if not text:
        return ""
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise LoadError(f"impossible date {text!r}: expected YYYY-MM-DD") from exc


def _date_from_name(name: str) -> str:
    match = _DATE_IN_NAME.search(name)
    if not match:
        return ""
    try:
        return dt.date(*map(int, match.groups())).isoformat()
    except ValueError:
        return ""
