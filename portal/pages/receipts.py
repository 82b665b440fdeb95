"""The resident's printable receipt of a filed application (#19)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from identity.principals import Resident
from portal.web import session
from portal.web.receipt import receipt_values
from portal.web.render import page, render
from services.notices import resident_only

router = APIRouter(include_in_schema=False)


@router.get("/my/applications/{application_id}/receipt")
@page
async def receipt(request: Request, application_id: str) -> Response:
    """The 申請控え to print: what was filed, when, and the sealed copy's QR code."""
    principal = session.require_principal(request)
    if not isinstance(principal, Resident):
        raise resident_only()
    values = await receipt_values(request, principal, application_id)
    return render(request, "receipt.html", principal=principal,
                  back=f"/my/applications/{application_id}", **values)
