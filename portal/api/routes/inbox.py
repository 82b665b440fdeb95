"""The inbox: notices for a resident, or for a caseworker's municipalities."""

from __future__ import annotations

from fastapi import APIRouter

from portal.deps import App, CurrentPrincipal
from portal.errors import ErrorBody
from records.inbox import InboxEntry

router = APIRouter(prefix="/api/inbox", tags=["notices"])


@router.get("", responses={401: {"model": ErrorBody}})
async def inbox(principal: CurrentPrincipal, app: App) -> list[InboxEntry]:
    """Notices, newest first."""
    return app.notices.inbox(principal, await app.cases.links.linked(principal))
