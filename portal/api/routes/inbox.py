"""The inbox: notices for a resident, or for a caseworker's municipalities."""

from __future__ import annotations

from fastapi import APIRouter

from identity.principals import Caseworker
from portal.deps import Context, CurrentPrincipal
from portal.errors import ErrorBody
from records.inbox import InboxEntry

router = APIRouter(prefix="/api/inbox", tags=["notices"])


@router.get("", responses={401: {"model": ErrorBody}})
async def inbox(principal: CurrentPrincipal, context: Context) -> list[InboxEntry]:
    """Notices, newest first."""
    if not isinstance(principal, Caseworker):
        recipients = [f"applicant:{context.cases.applicant_key(principal)}"]
    else:
        recipients = [f"municipality:{code}" for code in sorted(principal.municipalities)]
    entries = [e for r in recipients for e in context.inbox.for_recipient(r)]
    return sorted(entries, key=lambda e: e.created_at, reverse=True)
