"""Drafts: a resident saves a partial form, resumes it on any device, and submits it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from forms.filing import validate_draft
from forms.validation import FieldError
from identity.principals import Caseworker, Resident
from portal.api.routes.procedures import drafts_of, find_procedure
from portal.deps import Context, CurrentPrincipal, PortalContext
from portal.errors import ErrorBody
from portal.schemas import ApplicationOut
from records.drafts import Draft, DraftConflict
from workflows.cases import CaseError

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


class DraftOut(BaseModel):
    id: str
    procedure: str
    municipality: str
    data: dict[str, Any]
    revision: int
    created_at: datetime
    updated_at: datetime
    warnings: list[FieldError] = Field(
        default_factory=list, description="What would stop a submission (not enforced here)"
    )


def _resident(principal: Resident | Caseworker) -> Resident:
    if not isinstance(principal, Resident):
        raise CaseError(
            "resident_only", 403, "下書きは住民の方のみ使えます。", "Only residents have drafts."
        )
    return principal


def _owner(context: PortalContext, principal: Resident | Caseworker) -> str:
    return context.cases.applicant_key(_resident(principal))


def _not_found() -> CaseError:
    return CaseError("not_found", 404, "下書きが見つかりません。", "Draft not found.")


def _out(context: PortalContext, draft: Draft) -> DraftOut:
    procedure = find_procedure(context, draft.procedure, None, draft.municipality)
    result = validate_draft(procedure, draft.data)
    return DraftOut(
        id=draft.id,
        procedure=draft.procedure,
        municipality=draft.municipality,
        data=draft.data,
        revision=draft.revision,
        created_at=draft.created_at,
        updated_at=draft.updated_at,
        warnings=result.warnings,
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=_errors)
async def create_draft(body: DraftIn, principal: CurrentPrincipal, context: Context) -> DraftOut:
    """Start a draft (residents); nothing is required yet, problems come back as warnings."""
    owner = _owner(context, principal)
    find_procedure(context, body.procedure, None, body.municipality)
    draft = drafts_of(context).create(owner, body.procedure, body.municipality, body.data)
    return _out(context, draft)


@router.get("", responses=_errors)
async def list_drafts(principal: CurrentPrincipal, context: Context) -> list[DraftOut]:
    """The resident's own drafts, most recently saved first."""
    owner = _owner(context, principal)
    return [_out(context, d) for d in drafts_of(context).list(owner)]


@router.get("/{draft_id}", responses=_errors)
async def read_draft(draft_id: str, principal: CurrentPrincipal, context: Context) -> DraftOut:
    """One of the resident's drafts, from whichever device saved it."""
    draft = drafts_of(context).get(_owner(context, principal), draft_id)
    if draft is None:
        raise _not_found()
    return _out(context, draft)


@router.put("/{draft_id}", responses=_errors)
async def save_draft(
    draft_id: str, body: DraftUpdate, principal: CurrentPrincipal, context: Context
) -> DraftOut:
    """Replace the draft's answers (give ``revision`` to detect edits from another device)."""
    try:
        draft = drafts_of(context).save(
            _owner(context, principal), draft_id, body.data, body.revision
        )
    except DraftConflict as exc:
        raise CaseError(
            "draft_conflict",
            409,
            "この下書きは別の端末で更新されています。読み込み直してください。",
            "This draft was saved on another device; reload it first.",
            details={"revision": exc.current},
        ) from exc
    if draft is None:
        raise _not_found()
    return _out(context, draft)


@router.delete(
    "/{draft_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_errors,
    response_class=Response,
)
async def delete_draft(draft_id: str, principal: CurrentPrincipal, context: Context) -> Response:
    """Discard a draft."""
    if not drafts_of(context).delete(_owner(context, principal), draft_id):
        raise _not_found()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{draft_id}/submit", status_code=status.HTTP_201_CREATED, responses=_errors)
async def submit_draft(
    draft_id: str, principal: CurrentPrincipal, context: Context, body: DraftSubmit | None = None
) -> ApplicationOut:
    """File the draft as an application (validated in full), then discard the draft."""
    resident = _resident(principal)
    store = drafts_of(context)
    draft = store.get(_owner(context, resident), draft_id)
    if draft is None:
        raise _not_found()
    view = await context.cases.submit(
        resident, draft.procedure, draft.municipality, draft.data, lang=(body or DraftSubmit()).lang
    )
    # Filed: the case holds the data now. A crash before this line leaves a draft whose
    # resubmission is refused as a duplicate, naming the filed application.
    store.delete(draft.owner, draft.id)
    details = await context.cases.details(resident, view.application_id)
    return ApplicationOut.build(details, resident)
