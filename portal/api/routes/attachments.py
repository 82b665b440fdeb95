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
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel

from forms.attachments import AttachmentRule, attachment_fields, safe_filename, sniff
from identity.principals import Resident
from portal.api.routes.procedures import attachments_of, find_procedure
from portal.deps import Context, CurrentPrincipal
from portal.errors import ErrorBody
from portal.uploads import TooLarge, read_file_part
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

    try:
        upload = await read_file_part(request, rule.max_bytes)
    except TooLarge:
        raise _too_large(rule) from None

    data = upload.data
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
        200: {"content": {t: {} for t in ("image/jpeg", "image/png", "image/heic",
                                          "application/pdf")}},
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
