"""Multipart forms whose field names, file names and field values must be UTF-8.

Starlette decodes a part that is not valid UTF-8 as latin-1, so ``caf\\xe9.md`` would silently
become ``café.md``. Routes built with :class:`Utf8FormRoute` parse their multipart bodies with
:class:`Utf8MultiPartParser`, which refuses such a part with a 400 instead.
"""

from collections.abc import Callable, Coroutine
from contextlib import aclosing
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser


class Utf8MultiPartParser(MultiPartParser):
    """Starlette's multipart parser, answering 400 to a part's name, file name or field value
    that is not UTF-8 (file contents are the loaders' to judge). A 400 as Starlette answers a
    malformed form: FastAPI passes only an ``HTTPException`` raised while a form is read on."""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._current_part.content_disposition)
        for key, what in ((b"name", "field name"), (b"filename", "file name")):
            if key in options:
                _check_utf8(options[key], what)
        super().on_headers_finished()

    def on_part_end(self) -> None:
        if self._current_part.file is None:
            _check_utf8(self._current_part.data, f"field {self._current_part.field_name!r}")
        super().on_part_end()


class Utf8FormRequest(Request):
    """A request whose multipart form is parsed by :class:`Utf8MultiPartParser`."""

    async def _get_form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> FormData:
        content_type, _ = parse_options_header(self.headers.get("Content-Type"))
        if self._form is None and content_type == b"multipart/form-data":
            try:
                async with aclosing(self.stream()) as stream:
                    parser = Utf8MultiPartParser(
                        self.headers,
                        stream,
                        max_files=max_files,
                        max_fields=max_fields,
                        max_part_size=max_part_size,
                    )
                    self._form = await parser.parse()
            except MultiPartException as exc:  # a malformed form: as Starlette answers it
                raise HTTPException(status_code=400, detail=exc.message) from exc
        return await super()._get_form(
            max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
        )


class Utf8FormRoute(APIRoute):
    """A route that reads its form with :class:`Utf8FormRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(Utf8FormRequest(request.scope, request.receive))

        return strict


def _check_utf8(raw: bytes | bytearray, what: str) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"{what}: not valid UTF-8 (byte {exc.start})") from None
