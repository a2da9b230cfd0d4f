"""The service's errors safe to show to the user, all :class:`AppError` (ingestion/errors.py)."""

from typing import ClassVar

from ingestion.errors import AppError


class NotFound(AppError):
    code = "not_found"
    status_code = 404


class InvalidRequest(AppError):
    code = "invalid_request"
    status_code = 422


class Unauthorized(AppError):
    """No API key, or one the server does not know."""

    code = "unauthorized"
    status_code = 401
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    """A known key without the right, or a route the server's settings switch off."""

    code = "forbidden"
    status_code = 403


class ModelNotFound(NotFound):
    code = "model_not_found"


class Conflict(AppError):
    code = "conflict"
    status_code = 409


class InvalidDocument(AppError):
    """A file that cannot be ingested: the reason is the ingestion's."""

    code = "invalid_document"
    status_code = 422


class UnsupportedFileType(AppError):
    code = "unsupported_file_type"
    status_code = 415


class FileTooLarge(AppError):
    code = "file_too_large"
    status_code = 413


class URLRefused(AppError):
    """A URL the fetch policy forbids (docs/sync.md): scheme, host, address or robots.txt."""

    code = "url_refused"
    status_code = 422


class FetchFailed(AppError):
    """A URL that could not be fetched: the server's status, a cap, a redirect loop..."""

    code = "fetch_failed"
    status_code = 422
