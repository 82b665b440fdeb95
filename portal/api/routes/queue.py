"""The caseworker's queue of open cases (all of it, or one department's)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from portal.deps import App, CurrentCaseworker
from portal.errors import ErrorBody
from services.departments import Department, departments_for
from services.queues import CaseSummary

router = APIRouter(prefix="/api/queue", tags=["caseworkers"])


@router.get("", responses={c: {"model": ErrorBody} for c in (401, 403, 422)})
async def queue(
    caseworker: CurrentCaseworker,
    app: App,
    procedure: str | None = Query(default=None, max_length=64),
    stage: str | None = Query(default=None, max_length=64),
    assignee: str | None = Query(default=None, max_length=128),
    department: str | None = Query(default=None, max_length=40,
                                   pattern=r"^[a-z][a-z0-9-]*$"),
) -> list[CaseSummary]:
    """Open cases of the caseworker's municipalities (or one department's), newest first."""
    return await app.cases.list_cases(
        caseworker, procedure=procedure, stage=stage, assignee=assignee, open_only=True,
        department=department,
    )


@router.get("/departments", responses={c: {"model": ErrorBody} for c in (401, 403, 404)})
async def queue_departments(
    caseworker: CurrentCaseworker, app: App,
    municipality: str = Query(pattern=r"^[0-9]{6}$"),
) -> list[Department]:
    """The departments of a municipality and the procedures routed to each one's queue."""
    return departments_for(caseworker, app.cases.catalogue, municipality)
