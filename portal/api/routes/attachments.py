"""Attachments: files a resident uploads for a form field, then references by id.

``POST /api/attachments?procedure=...&field=/photos[&municipality=...]`` with a
``multipart/form-data`` body holding one ``file`` part. The field's ``x-attachment`` rule
applies while the body streams in: reading stops as soon as the file passes ``max_bytes``
(413), before the rest is even received. The type is decided by the bytes (``filetype``),
never by the name or the claimed content type (415 if the field does not take it); the
name is sanitized. The bytes go to the blob store under ``attachments/<id>``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel
from python_multipart.multipart import MultipartParser, parse_options_header

from forms.attachments import AttachmentRule, attachment_fields, safe_filename, sniff
from identity.principals import Resident
from portal.api.routes.procedures import attachments_of, find_procedure
from portal.deps import Context, CurrentPrincipal
from portal.errors import ErrorBody
from records.attachments import Attachment
from workflows.cases import CaseError

router = APIRouter(prefix="/api/attachments", tags=["attachments"])
_errors = {code: {"model": ErrorBody} for code in (401, 403, 404, 413, 415, 422)}

#: Room for the multipart framing around the file (boundaries, part headers).
_FRAMING_ALLOWANCE = 16 * 1024


class AttachmentOut(BaseModel):
    id: str
    filename: str
    media_type: str
    size: int
    sha256: str


class _TooLarge(Exception):
    pass


class _Upload:
    """Collects the ``file`` part of a multipart body, refusing it past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.filename: str | None = None
        self.files = 0
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field_data,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._in_file = False

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if params.get(b"name") == b"file":
            self._in_file = True
            self.files += 1
            raw = params.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        self.data += data[start:end]
        if len(self.data) > self.limit:
            raise _TooLarge


def _rule(procedure_fields: dict[str, AttachmentRule], field: str) -> AttachmentRule:
    rule = procedure_fields.get(field)
    if rule is None:
        raise CaseError(
            "not_an_attachment_field",
            422,
            "この項目にはファイルを添付できません。",
            f"The field {field} does not take attachments.",
            details={"fields": sorted(procedure_fields)},
        )
    return rule


def _too_large(rule: AttachmentRule) -> CaseError:
    mb = f"{rule.max_bytes / (1024 * 1024):g} MB"
    return CaseError(
        "attachment_too_large",
        413,
        f"ファイルが大きすぎます。{mb}までのファイルを添付してください。",
        f"The file is too large; attach files of at most {mb}.",
        details={"max_bytes": rule.max_bytes},
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=_errors)
async def upload(
    request: Request,
    principal: CurrentPrincipal,
    context: Context,
    procedure: str = Query(pattern=r"^[a-z][a-z0-9-]*$", max_length=100),
    field: str = Query(pattern=r"^(/[A-Za-z0-9_-]+)+$", max_length=300),
    municipality: str | None = Query(default=None, pattern=r"^\d{6}$"),
) -> AttachmentOut:
    """Upload one file for a form field (residents); answers the id to put in the form."""
    if not isinstance(principal, Resident):
        raise CaseError(
            "resident_only",
            403,
            "ファイルの添付は住民の方のみ行えます。",
            "Only residents can upload attachments.",
        )
    found = find_procedure(context, procedure, None, municipality)
    rule = _rule(dict(attachment_fields(found.form_schema)), field)

    content_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise CaseError(
            "not_multipart",
            415,
            "multipart/form-data で送ってください。",
            "Send the file as multipart/form-data with a 'file' part.",
        )
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isdigit()
        and (int(declared) > rule.max_bytes + _FRAMING_ALLOWANCE)
    ):
        raise _too_large(rule)  # refused before a single byte is read

    upload = _Upload(rule.max_bytes)
    parser = MultipartParser(boundary, upload.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except _TooLarge:
        raise _too_large(rule) from None
    except Exception as exc:  # python-multipart's parse errors
        raise CaseError(
            "bad_multipart",
            422,
            "送られたファイルを読み取れませんでした。",
            "The upload could not be read as multipart/form-data.",
        ) from exc
    if upload.files != 1 or not upload.data:
        raise CaseError(
            "no_file",
            422,
            "ファイルを1つ添付してください。",
            "Send exactly one non-empty 'file' part.",
        )

    data = bytes(upload.data)
    media_type = sniff(data[:512])
    if media_type is None or media_type not in rule.types:
        names = ", ".join(t.split("/")[-1].upper() for t in rule.types)
        raise CaseError(
            "attachment_type",
            415,
            f"この項目に添付できるのは {names} のファイルです。",
            f"This field accepts {names} files only.",
            details={"accepted": rule.types, "detected": media_type},
        )

    attachment_id = "att-" + base64.b32encode(secrets.token_bytes(16)).decode().lower()[:26]
    blob_key = f"attachments/{attachment_id}"
    context.blobs.put(blob_key, data)
    record = Attachment(
        id=attachment_id,
        owner=context.cases.applicant_key(principal),
        procedure=found.id,
        field=field,
        media_type=media_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        filename=safe_filename(upload.filename, media_type),
        blob_key=blob_key,
        created_at=datetime.now(UTC),
    )
    attachments_of(context).add(record)
    return AttachmentOut(
        id=record.id,
        filename=record.filename,
        media_type=media_type,
        size=record.size,
        sha256=record.sha256,
    )


@router.get(
    "/{attachment_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        **{c: {"model": ErrorBody} for c in (401, 404)},
    },
)
async def download(attachment_id: str, principal: CurrentPrincipal, context: Context) -> Response:
    """The file, for the resident who uploaded it."""
    found = attachments_of(context).get(attachment_id)
    owner = context.cases.applicant_key(principal) if isinstance(principal, Resident) else None
    if found is None or found.owner != owner:
        raise CaseError("not_found", 404, "ファイルが見つかりません。", "Attachment not found.")
    return Response(
        context.blobs.get(found.blob_key),
        media_type=found.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
