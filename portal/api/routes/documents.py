"""Issued documents: download by the applicant or the municipality, and revocation."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from portal.deps import App, CurrentCaseworker, CurrentPrincipal
from portal.errors import ErrorBody
from portal.links import verify_link
from services.documents import RevocationOut

router = APIRouter(prefix="/api/documents", tags=["documents"])


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1, max_length=1000, description="Why; shown on the public verify page"
    )


@router.get(
    "/{document_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}},
        **{c: {"model": ErrorBody} for c in (401, 404, 410)},
    },
)
async def download(document_id: str, principal: CurrentPrincipal, app: App) -> Response:
    """The PDF of an issued document."""
    found = await app.documents.download(principal, document_id)
    return Response(
        found.content,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "private, no-store",
        },
    )


@router.post(
    "/{document_id}/revoke",
    status_code=status.HTTP_202_ACCEPTED,
    responses={c: {"model": ErrorBody} for c in (401, 403, 404, 409, 422)},
)
async def revoke(
    document_id: str,
    body: RevokeRequest,
    caseworker: CurrentCaseworker,
    app: App,
    request: Request,
) -> RevocationOut:
    """Ask for the revocation of an issued document; a second caseworker confirms it."""
    return await app.documents.revoke(caseworker, document_id, body.reason,
                                      verify_link(request))


@router.post(
    "/{document_id}/revoke/confirm",
    responses={c: {"model": ErrorBody} for c in (401, 403, 404, 409)},
)
async def confirm_revocation(
    document_id: str, caseworker: CurrentCaseworker, app: App, request: Request
) -> RevocationOut:
    """Confirm another caseworker's revocation (four eyes): the document is revoked."""
    return await app.documents.confirm_revocation(caseworker, document_id,
                                                  verify_link(request))
