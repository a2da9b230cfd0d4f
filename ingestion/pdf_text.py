"""The text layer of a PDF, read in another process with hard time and memory limits.

A few kilobytes of PDF can expand to many pages, huge content streams or deep object graphs.
The pages are counted before any text is read, characters are counted page by page, and the
read runs in a reading process (started from a fork server, so it inherits no threads or
models, and reused from PDF to PDF) whose address space is capped at ``max_parse_memory_bytes``
and which is killed, and replaced for the next PDF, past ``max_parse_seconds``.
"""

import io
import multiprocessing
import resource
import threading
from collections.abc import Mapping
from multiprocessing.pool import Pool
from typing import Any

from ingestion.loaders import FileLimits, LoadError

_pool: Pool | None = None  # one reading process, started on first use and reused
_pool_memory = 0  # the address-space cap its process was started with
_pool_lock = threading.Lock()  # one PDF at a time per process


def read_pdf(raw: bytes, limits: FileLimits) -> dict[str, str]:
    """``{"title", "source", "published", "text"}`` of a PDF; :class:`LoadError` saying which
    limit it went past, or why it is unreadable."""
    global _pool, _pool_memory
    with _pool_lock:
        if _pool is None or _pool_memory != limits.max_parse_memory_bytes:
            if _pool is not None:
                _pool.terminate()
            context = multiprocessing.get_context("forkserver")  # no threads, no models
            _pool_memory = limits.max_parse_memory_bytes
            _pool = context.Pool(1, initializer=_cap_memory, initargs=(_pool_memory,))
            _pool.apply(int)  # started before any deadline runs
        result = _pool.apply_async(_read, (raw, limits))
        try:
            outcome, value = result.get(timeout=limits.max_parse_seconds)
        except multiprocessing.TimeoutError:
            _pool.terminate()  # the only way to stop a read: a new process reads the next PDF
            _pool = None
            raise LoadError(
                f"not read in {limits.max_parse_seconds:g} s (CITECHAT_MAX_PARSE_SECONDS)"
            ) from None
    if outcome == "error":
        raise LoadError(str(value))
    assert isinstance(value, dict)
    return value


def _cap_memory(max_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


def _read(raw: bytes, limits: FileLimits) -> tuple[str, object]:
    """In the reading process: ``("ok", meta)`` or ``("error", reason)``."""
    try:
        return "ok", _text_layer(raw, limits)
    except LoadError as exc:
        return "error", str(exc)
    except MemoryError:
        memory = limits.max_parse_memory_bytes
        return "error", f"more than {memory} bytes of memory (CITECHAT_MAX_PARSE_MEMORY_BYTES)"


def _text_layer(raw: bytes, limits: FileLimits) -> dict[str, str]:
    """The text layer, page by page: the pages counted first (pypdf walks the page tree at
    most ``2 x max_pdf_pages`` entries deep), a page tree that reaches one page twice refused,
    and the characters checked after each page."""
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError

    too_many = f"more than {limits.max_pdf_pages} pages (CITECHAT_MAX_PDF_PAGES)"
    texts: list[str] = []
    chars = 0
    try:
        with apply_configuration(page_tree_maximum_entries=2 * limits.max_pdf_pages):
            reader = PdfReader(io.BytesIO(raw))
            pages = reader.pages
            if len(pages) > limits.max_pdf_pages:
                raise LoadError(too_many)
            objects = {page.indirect_reference for page in pages}
            if None not in objects and len(objects) < len(pages):
                raise LoadError(
                    f"the page tree repeats pages: {len(pages)} pages, {len(objects)} distinct"
                )
            for number, page in enumerate(pages, start=1):
                texts.append(page.extract_text() or "")
                chars += len(texts[-1])
                if chars > limits.max_text_chars:
                    raise LoadError(
                        f"more than {limits.max_text_chars} characters of text by page "
                        f"{number} (CITECHAT_MAX_TEXT_CHARS)"
                    )
            info: Mapping[str, Any] = reader.metadata or {}
    except LimitReachedError as exc:
        raise LoadError(
            too_many if "entry limit" in str(exc) else f"unreadable PDF: {exc}"
        ) from exc
    except (LoadError, MemoryError):
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        raise LoadError(f"unreadable PDF: {exc}") from exc
    title = info.get("/Title")  # a number, dictionary or array is no title
    return {
        "title": str(title) if isinstance(title, str) else "",
        "source": "",
        "published": "",
        "text": "\n".join(texts),
    }
