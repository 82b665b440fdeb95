"""Life events (ワンストップ): the questionnaire, what applies, filing the bundle, its status,
withdrawal; the bundle beside a case and the 被災者台帳 for caseworkers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status

from portal.deps import App, CurrentPrincipal
from portal.errors import ErrorBody
from portal.schemas import BundleIn, BundleOut, BundleWithdrawIn, LifeEventAnswersIn
from services.life_events import (
    BundleStatus,
    Ledger,
    LifeEventSummary,
    Offer,
    Questionnaire,
)

router = APIRouter(tags=["life events"])
_errors = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422, 503)}
_Municipality = Annotated[str, Query(pattern=r"^\d{6}$")]
_Code = Annotated[str | None, Query(max_length=64)]


@router.get("/api/life-events", responses=_errors)
async def list_life_events(municipality: _Municipality, app: App) -> list[LifeEventSummary]:
    """The life events a municipality offers."""
    return app.life_events.summaries(municipality)


@router.get("/api/life-events/{life_event_id}/questionnaire", responses=_errors)
async def questionnaire(life_event_id: str, municipality: _Municipality,
                        principal: CurrentPrincipal, app: App,
                        lang: Literal["ja", "en"] = "ja") -> Questionnaire:
    """The shared questionnaire, prefilled, with where each prefilled value came from."""
    return await app.life_events.questionnaire(principal, life_event_id, municipality, lang)


@router.post("/api/life-events/{life_event_id}/offers", responses=_errors)
async def offers(life_event_id: str, body: LifeEventAnswersIn, principal: CurrentPrincipal,
                 app: App) -> list[Offer]:
    """Which procedures apply to these answers, and why (or why not)."""
    return await app.life_events.offers(principal, life_event_id, body.municipality,
                                        body.answers)


@router.post("/api/life-events/{life_event_id}/bundles", status_code=status.HTTP_201_CREATED,
             responses=_errors)
async def file_bundle(
    life_event_id: str, body: BundleIn, principal: CurrentPrincipal, app: App,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> BundleOut:
    """File the bundle once. Send an `Idempotency-Key` to retry safely."""
    view = await app.life_events.submit(
        principal, life_event_id, body.municipality, body.answers, body.selected,
        lang=body.lang, idempotency_key=idempotency_key, proxy=body.proxy)
    return BundleOut.build(view)


@router.get("/api/bundles", responses=_errors)
async def my_bundles(principal: CurrentPrincipal, app: App) -> list[BundleOut]:
    """The resident's own bundles."""
    return [BundleOut.build(view) for view in await app.life_events.mine(principal)]


@router.get("/api/bundles/{bundle_id}", responses=_errors)
async def bundle_status(bundle_id: str, principal: CurrentPrincipal, app: App) -> BundleStatus:
    """Every procedure of the bundle with its case's status, stage and documents."""
    return await app.life_events.status(principal, bundle_id)


@router.post("/api/bundles/{bundle_id}/withdraw", responses=_errors)
async def withdraw_bundle(bundle_id: str, body: BundleWithdrawIn, principal: CurrentPrincipal,
                          app: App) -> BundleStatus:
    """Withdraw one procedure (`procedure`) or all of them (`null`)."""
    return await app.life_events.withdraw(principal, bundle_id, body.procedure)


@router.get("/api/cases/{application_id}/bundle", responses=_errors)
async def bundle_of_case(application_id: str, principal: CurrentPrincipal,
                         app: App) -> BundleStatus | None:
    """The bundle a case was filed in (null for a case filed on its own)."""
    return await app.life_events.bundle_of_case(principal, application_id)


@router.get("/api/ledger", responses=_errors)
async def ledger(municipality: _Municipality, event: Annotated[str, Query(max_length=64)],
                 principal: CurrentPrincipal, app: App, grade: _Code = None,
                 status_filter: Annotated[Literal["open", "decided"] | None,
                                          Query(alias="status")] = None) -> Ledger:
    """被災者台帳: one row per household of a disaster event (caseworkers)."""
    return await app.life_events.ledger(principal, municipality, event,
                                        _filters(grade, status_filter))


@router.get("/api/ledger.csv", responses=_errors, response_class=Response)
async def ledger_csv(municipality: _Municipality, event: Annotated[str, Query(max_length=64)],
                     principal: CurrentPrincipal, app: App, grade: _Code = None,
                     status_filter: Annotated[Literal["open", "decided"] | None,
                                              Query(alias="status")] = None) -> Response:
    """The 被災者台帳 as CSV for the prefecture (UTF-8 with BOM)."""
    body = await app.life_events.ledger_csv(principal, municipality, event,
                                            _filters(grade, status_filter))
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="ledger-{municipality}-{event}.csv"',
        "Cache-Control": "private, no-store"})


def _filters(grade: str | None, status_filter: str | None) -> dict[str, str]:
    return {k: v for k, v in (("grade", grade), ("status", status_filter)) if v}
