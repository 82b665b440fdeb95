"""Revoking an issued document: a caseworker of the issuing municipality, with a reason.

The reason is shown on the public verify page: write it for the public (no personal data).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from portal.api.routes.verify import PublicDocument, public_document
from portal.deps import Context, CurrentCaseworker
from portal.errors import ErrorBody
from records.register import StatusConflict
from workflows.cases import CaseError

router = APIRouter(prefix="/api/documents", tags=["documents"])


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1, max_length=1000, description="Why; shown on the public verify page"
    )


@router.post(
    "/{document_id}/revoke",
    response_model=PublicDocument,
    responses={c: {"model": ErrorBody} for c in (401, 403, 404, 409, 422)},
)
async def revoke(
    document_id: str,
    body: RevokeRequest,
    caseworker: CurrentCaseworker,
    context: Context,
    request: Request,
) -> PublicDocument:
    """Revoke an issued document (caseworkers of the issuing municipality)."""
    reason = body.reason.strip()
    if not reason:
        raise CaseError(
            "reason_required",
            422,
            "取消しの理由を入力してください。",
            "Give the reason for the revocation.",
        )
    doc = context.register.get(document_id)
    if doc is None:
        raise CaseError("not_found", 404, "書類が見つかりません。", "Document not found.")
    if doc.municipality not in caseworker.municipalities:
        raise CaseError(
            "other_municipality",
            403,
            "他の自治体が発行した書類は取り消せません。",
            "Only the issuing municipality can revoke this document.",
        )
    try:
        context.register.revoke(
            document_id, reason=reason, actor=caseworker.subject, at=datetime.now(UTC)
        )
    except StatusConflict as exc:
        word = {
            "revoked": ("取り消されています", "revoked"),
            "superseded": ("差し替えられています", "superseded"),
        }[exc.existing.status]
        raise CaseError(
            "already_" + exc.existing.status,
            409,
            f"この書類はすでに{word[0]}。",
            f"This document is already {word[1]}.",
        ) from exc
    updated = context.register.get(document_id)
    assert updated is not None
    return public_document(updated, context.register, request)
