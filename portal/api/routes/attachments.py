"""Attachments: files a resident uploads for a form field, then references by id.

``POST /api/attachments?procedure=...&field=/photos[&municipality=...]`` with a
``multipart/form-data`` body holding one ``file`` part. The field's ``x-attachment`` rule
applies while the body streams in: reading stops as soon as the file passes ``max_bytes``
(413), before the rest is even received. The type is decided by the bytes (415 if the
field does not take it), see :mod:`services.attachments`.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel

from portal.deps import App, CurrentPrincipal
from portal.errors import ErrorBody
from portal.uploads import TooLarge, read_file_part
from services.attachments import too_large

router = APIRouter(prefix="/api/attachments", tags=["attachments"])
_errors = {code: {"model": ErrorBody} for code in (401, 403, 404, 413, 415, 422)}


class AttachmentOut(BaseModel):
    id: str
    filename: str
    media_type: str
    size: int
    sha256: str


@router.post("", status_code=status.HTTP_201_CREATED, responses=_errors)
async def upload(
    request: Request,
    principal: CurrentPrincipal,
    app: App,
    procedure: str = Query(pattern=r"^[a-z][a-z0-9-]*$", max_length=100),
    field: str = Query(pattern=r"^(/[A-Za-z0-9_-]+)+$", max_length=300),
    municipality: str | None = Query(default=None, pattern=r"^\d{6}$"),
) -> AttachmentOut:
    """Upload one file for a form field (residents); answers the id to put in the form."""
    rule = app.attachments.rule(principal, procedure, field, municipality)
    try:
        posted = await read_file_part(request, rule.max_bytes)
    except TooLarge:
        raise too_large(rule) from None
    record = app.attachments.store(principal, procedure, field, rule, posted.filename,
                                   posted.data)
    return AttachmentOut(id=record.id, filename=record.filename,
                         media_type=record.media_type, size=record.size, sha256=record.sha256)


@router.get(
    "/{attachment_id}",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in ("image/jpeg", "image/png", "image/heic",
                                          "application/pdf")}},
        **{c: {"model": ErrorBody} for c in (401, 404)},
    },
)
async def download(attachment_id: str, principal: CurrentPrincipal, app: App) -> Response:
    """The file, for the resident who uploaded it."""
    found, content = app.attachments.download(principal, attachment_id)
    return Response(
        content,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
