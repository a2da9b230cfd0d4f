"""Errors safe to show to the user; the API turns each into ``{"code", "detail"}``."""

from typing import ClassVar


class AppError(Exception):
    """Base class: ``code`` and ``status_code`` say how the API reports it."""

    code = "error"
    status_code = 500
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str, *, param: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.param = param  # the request field at fault, reported by the OpenAI-compatible API


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
