"""Drafts: a resident saves a partial form, resumes it on any device, and submits it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from portal.deps import App, CurrentPrincipal
from portal.errors import ErrorBody
from portal.schemas import ApplicationOut
from services.drafts import DraftOut

router = APIRouter(prefix="/api/drafts", tags=["drafts"])
_errors = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)}


class DraftIn(BaseModel):
    procedure: str = Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=100)
    municipality: str = Field(pattern=r"^\d{6}$")
    data: dict[str, Any] = Field(default_factory=dict)


class DraftUpdate(BaseModel):
    data: dict[str, Any]
    revision: int | None = Field(
        default=None, description="The revision read; a newer one saved elsewhere is a 409"
    )


class DraftSubmit(BaseModel):
    lang: Literal["ja", "en"] = "ja"


@router.post("", status_code=status.HTTP_201_CREATED, responses=_errors)
async def create_draft(body: DraftIn, principal: CurrentPrincipal, app: App) -> DraftOut:
    """Start a draft (residents); nothing is required yet, problems come back as warnings."""
    draft = app.drafts.create(principal, body.procedure, body.municipality, body.data)
    return app.drafts.describe(draft)


@router.get("", responses=_errors)
async def list_drafts(principal: CurrentPrincipal, app: App) -> list[DraftOut]:
    """The resident's own drafts, most recently saved first."""
    return [app.drafts.describe(d) for d in app.drafts.list(principal)]


@router.get("/{draft_id}", responses=_errors)
async def read_draft(draft_id: str, principal: CurrentPrincipal, app: App) -> DraftOut:
    """One of the resident's drafts, from whichever device saved it."""
    return app.drafts.describe(app.drafts.get(principal, draft_id))


@router.put("/{draft_id}", responses=_errors)
async def save_draft(
    draft_id: str, body: DraftUpdate, principal: CurrentPrincipal, app: App
) -> DraftOut:
    """Replace the draft's answers (give ``revision`` to detect edits from another device)."""
    return app.drafts.describe(app.drafts.save(principal, draft_id, body.data, body.revision))


@router.delete(
    "/{draft_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_errors,
    response_class=Response,
)
async def delete_draft(draft_id: str, principal: CurrentPrincipal, app: App) -> Response:
    """Discard a draft."""
    app.drafts.delete(principal, draft_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{draft_id}/submit", status_code=status.HTTP_201_CREATED, responses=_errors)
async def submit_draft(
    draft_id: str, principal: CurrentPrincipal, app: App, body: DraftSubmit | None = None
) -> ApplicationOut:
    """File the draft as an application (validated in full), then discard the draft."""
    view = await app.drafts.submit(principal, draft_id, (body or DraftSubmit()).lang)
    details = await app.cases.details(principal, view.application_id)
    return ApplicationOut.build(details, principal)
