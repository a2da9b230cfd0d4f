"""Errors safe to show to the user; the API turns each into ``{"code", "detail"}``."""


class AppError(Exception):
    """Base class: ``code`` and ``status_code`` say how the API reports it."""

    code = "error"
    status_code = 500

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


class ModelNotFound(NotFound):
    code = "model_not_found"
