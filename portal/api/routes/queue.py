"""The caseworker's queue of open cases."""

from __future__ import annotations

from fastapi import APIRouter, Query

from portal.deps import Context, CurrentCaseworker
from portal.errors import ErrorBody
from workflows.cases import CaseSummary

router = APIRouter(prefix="/api/queue", tags=["caseworkers"])


@router.get("", responses={c: {"model": ErrorBody} for c in (401, 403, 422)})
async def queue(
    caseworker: CurrentCaseworker,
    context: Context,
    procedure: str | None = Query(default=None, max_length=64),
    stage: str | None = Query(default=None, max_length=64),
    assignee: str | None = Query(default=None, max_length=128),
) -> list[CaseSummary]:
    """Open cases of the caseworker's municipalities, newest first."""
    return await context.cases.list_cases(
        caseworker, procedure=procedure, stage=stage, assignee=assignee, open_only=True
    )
