"""Issued documents: download by the applicant or the municipality."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response

from portal.deps import Context, CurrentPrincipal
from portal.errors import ErrorBody
from records.blobs import BlobNotFound
from workflows.cases import CaseError

router = APIRouter(prefix="/api/documents", tags=["documents"])


@router.get(
    "/{document_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}},
        **{c: {"model": ErrorBody} for c in (401, 404)},
    },
)
async def download(document_id: str, principal: CurrentPrincipal, context: Context) -> Response:
    """The PDF of an issued document."""
    doc = context.register.get(document_id)
    if doc is None:
        raise CaseError("not_found", 404, "書類が見つかりません。", "Document not found.")
    # Visible exactly when its application is: the same rule, in one place.
    await context.cases.details(principal, doc.application_id)
    try:
        data = context.blobs.get(doc.blob_key)
    except BlobNotFound:
        raise CaseError("retention_expired", 410,
                        "保存期間が過ぎたため、この書類のファイルは削除されました。"
                        "書類番号で有効性は確認できます。",
                        "This document's file was deleted when its retention period ended; "
                        "its number can still be checked on the verify page.") from None
    return Response(
        data,
        media_type=doc.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.filename)}",
            "Cache-Control": "private, no-store",
        },
    )
