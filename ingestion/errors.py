"""The base of every error a user may see, defined below the service so the store's are too.

The API turns each into ``{"code", "detail"}`` with its status (service/api/errors.py); the
CLI prints its message and exits non-zero (service/cli.py).
"""

from typing import ClassVar


class AppError(Exception):
    """Base class: ``code`` and ``status_code`` say how the API reports it.

    ``detail`` is what a client is told; the message (``str(exc)``) is the same unless a
    subclass keeps details from clients, and is what the logs and the CLI show.
    """

    code = "error"
    status_code = 500
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str, *, param: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.param = param  # the request field at fault, reported by the OpenAI-compatible API
