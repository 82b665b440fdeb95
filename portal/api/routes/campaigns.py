"""Filing campaigns (e.g. the annual 現況届): opened by a municipality's administrator."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from portal.deps import App, CurrentCaseworker
from portal.errors import ErrorBody
from workflows.campaign import CampaignView

router = APIRouter(prefix="/api/campaigns", tags=["caseworkers"])
_errors = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)}


class CampaignTarget(BaseModel):
    """A resident who must file, as the resident register links them to their eID."""

    issuer: str = Field(max_length=256)
    subject: str = Field(max_length=256)


class CampaignIn(BaseModel):
    procedure: str = Field(max_length=64, examples=["childcare-status"])
    municipality: str = Field(pattern=r"^\d{6}$")
    period: str = Field(pattern=r"^[0-9A-Za-z-]{1,16}$", examples=["2026"])
    opens_at: datetime
    closes_at: datetime
    targets: list[CampaignTarget] = Field(default_factory=list, max_length=100_000)


@router.post("", status_code=status.HTTP_201_CREATED, responses=_errors)
async def open_campaign(
    body: CampaignIn, caseworker: CurrentCaseworker, app: App
) -> CampaignView:
    """Open a filing campaign for a period (administrators)."""
    return await app.campaigns.open(
        caseworker,
        body.procedure,
        body.municipality,
        body.period,
        body.opens_at,
        body.closes_at,
        [(t.issuer, t.subject) for t in body.targets],
    )


@router.get("/{campaign_id}", responses=_errors)
async def read_campaign(
    campaign_id: str, caseworker: CurrentCaseworker, app: App
) -> CampaignView:
    """Who has filed and who has been reminded."""
    return await app.campaigns.read(caseworker, campaign_id)
