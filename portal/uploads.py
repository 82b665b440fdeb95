"""Reading one uploaded file from a request, streamed, refused as soon as it is too large.

``request.form()`` would spool the whole body first: an 8 GB upload would be read to the
end before any limit applied. Here the ``Content-Length`` is checked before a byte is read
and the ``file`` part is counted while it streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from services.refusals import Refused

#: What multipart framing adds to the file's own bytes (boundaries, part headers).
FRAMING_ALLOWANCE = 16 * 1024


class TooLarge(Exception):
    """The file passed the limit (the caller answers in its own words)."""


@dataclass
class UploadedFile:
    filename: str | None
    data: bytes


class _FilePart:
    """Collects the ``file`` part of a multipart body, refusing it past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.filename: str | None = None
        self.files = 0
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self._begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._part}

    def _begin(self) -> None:
        self._headers = {}
        self._in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if params.get(b"name") == b"file":
            self._in_file = True
            self.files += 1
            raw = params.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None

    def _part(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.data += data[start:end]
            if len(self.data) > self.limit:
                raise TooLarge


def declared_too_large(request: Request, limit: int) -> bool:
    declared = request.headers.get("content-length")
    return declared is not None and declared.isdigit() and (
        int(declared) > limit + FRAMING_ALLOWANCE)


async def read_file_part(request: Request, limit: int) -> UploadedFile:
    """The one ``file`` part of a multipart/form-data request.

    :raises TooLarge: declared or streamed past ``limit`` (nothing more is read).
    :raises Refused: not multipart (``unsupported``), unreadable, or not exactly one file
        (``invalid``).
    """
    content_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Refused("unsupported", "not_multipart", "multipart/form-data で送ってください。",
                        "Send the file as multipart/form-data with a 'file' part.")
    if declared_too_large(request, limit):
        raise TooLarge
    part = _FilePart(limit)
    parser = MultipartParser(boundary, part.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except TooLarge:
        raise
    except Exception as exc:  # python-multipart's parse errors
        raise Refused("invalid", "bad_multipart", "送られたファイルを読み取れませんでした。",
                        "The upload could not be read as multipart/form-data.") from exc
    if part.files != 1 or not part.data:
        raise Refused("invalid", "no_file", "ファイルを1つ添付してください。",
                        "Send exactly one non-empty 'file' part.")
    return UploadedFile(part.filename, bytes(part.data))
