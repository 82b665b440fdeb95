"""The caseworker's 被災者台帳 (disaster victims' register, #18): per disaster event of a
municipality the caseworker acts for, one row per household with its cases, the damage
grade, decisions and amounts; filtered by grade and status; downloadable as CSV for the
prefecture. Rows and CSV are ``LifeEventService.ledger`` / ``ledger_csv``'s."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from identity.principals import Caseworker
from portal.deps import application_of
from portal.web import session
from portal.web.cases import yen
from portal.web.render import page, redirect, render
from services.refusals import Refused

router = APIRouter(include_in_schema=False)


def _caseworker(request: Request) -> Caseworker:
    principal = session.require_principal(request)
    if not isinstance(principal, Caseworker):
        raise Refused("forbidden", "caseworker_only", "このページは職員のためのページです。",
                      "This page is for municipal staff.")
    return principal


def _events(request: Request, principal: Caseworker) -> list[dict[str, Any]]:
    """The disaster events of the caseworker's municipalities, newest first."""
    catalogue = application_of(request).catalogue
    found = []
    for municipality in catalogue.municipalities():
        if not principal.can_act_for(municipality.code):
            continue
        for event in municipality.disaster_events:
            found.append({"municipality": municipality.code, "id": event.id,
                          "name": event.name.model_dump(), "date": event.date,
                          "place": municipality.name.model_dump()})
    return sorted(found, key=lambda e: str(e["date"]), reverse=True)


def _filters(grade: str | None, status: str | None) -> dict[str, str]:
    return {k: v for k, v in (("grade", grade), ("status", status)) if v}


@router.get("/staff/ledger")
@page
async def ledger(request: Request, municipality: str | None = None, event: str | None = None,
                 grade: str | None = None, status: str | None = None) -> Response:
    """The 被災者台帳 of one disaster event (the newest of the caseworker's, unless chosen)."""
    principal = _caseworker(request)
    events = _events(request, principal)
    chosen = next((e for e in events if (e["municipality"], e["id"]) == (municipality, event)),
                  None)
    if chosen is None and events:
        first = events[0]
        return redirect("/staff/ledger?" + urlencode(
            {"municipality": first["municipality"], "event": first["id"],
             **_filters(grade, status)}))
    result = None
    if chosen is not None:
        result = await application_of(request).life_events.ledger(
            principal, chosen["municipality"], chosen["id"], _filters(grade, status))
    query = urlencode({"municipality": municipality or "", "event": event or "",
                       **_filters(grade, status)})
    return render(
        request, "staff/ledger.html", principal=principal, events=events, chosen=chosen,
        ledger=result, grade=grade or "", chosen_status=status or "",
        csv_url=f"/staff/ledger.csv?{query}", yen=yen,
    )


@router.get("/staff/ledger.csv")
@page
async def ledger_csv(request: Request, municipality: str, event: str,
                     grade: str | None = None, status: str | None = None) -> Response:
    """The same rows as CSV (UTF-8 with BOM, as spreadsheet software in Japan reads it)."""
    principal = _caseworker(request)
    if not any((e["municipality"], e["id"]) == (municipality, event)
               for e in _events(request, principal)):
        raise Refused("not_found", "no_such_event", "その災害は見つかりません。",
                      "No such disaster event.")
    exported = await application_of(request).life_events.ledger_csv(
        principal, municipality, event, _filters(grade, status))
    body = exported if isinstance(exported, bytes) else exported.encode("utf-8-sig")
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="ledger-{municipality}-{event}.csv"',
        "Cache-Control": "private, no-store",
    })
