"""The caseworker's queue of open cases."""

from __future__ import annotations

from fastapi import APIRouter, Query

from portal.deps import App, CurrentCaseworker
from portal.errors import ErrorBody
from services.queues import CaseSummary

router = APIRouter(prefix="/api/queue", tags=["caseworkers"])


@router.get("", responses={c: {"model": ErrorBody} for c in (401, 403, 422)})
async def queue(
    caseworker: CurrentCaseworker,
    app: App,
    procedure: str | None = Query(default=None, max_length=64),
    stage: str | None = Query(default=None, max_length=64),
    assignee: str | None = Query(default=None, max_length=128),
) -> list[CaseSummary]:
    """Open cases of the caseworker's municipalities, newest first."""
    return await app.cases.list_cases(
        caseworker, procedure=procedure, stage=stage, assignee=assignee, open_only=True
    )
