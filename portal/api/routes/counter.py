"""Counter filing (窓口): sessions for the resident present, filing for them, confirmation.

Thin: the use cases are :class:`services.counter.CounterService`; statuses live here only.
The registry lookup is a POST so the resident's four facts never appear in a URL (access
logs, proxies).
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from portal.deps import App, CurrentPrincipal
from portal.errors import ErrorBody
from services.counter import (
    ConfirmedFiling,
    CounterSessionView,
    HelperCode,
    HelperCodeRequest,
    LookupRequest,
    OpenSession,
    PreparedFiling,
    PrepareFiling,
    PrepareLifeEvent,
    RegistryMatch,
)

router = APIRouter(tags=["counter"])
_errors = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422, 503)}
_SESSIONS = "/api/counter/sessions"


@router.post("/api/counter/registry/lookups", responses=_errors)
async def lookup(body: LookupRequest, principal: CurrentPrincipal, app: App) -> RegistryMatch:
    """Look the resident present up in the resident registry by their four basic facts."""
    return await app.counter.lookup(principal, body.municipality, body.resident)


@router.post(_SESSIONS, status_code=status.HTTP_201_CREATED, responses=_errors)
async def open_session(body: OpenSession, principal: CurrentPrincipal,
                       app: App) -> CounterSessionView:
    """Open a counter session after checking the resident's identity in person."""
    return await app.counter.open(principal, body)


@router.get(_SESSIONS + "/{session_id}", responses=_errors)
async def get_session(session_id: str, principal: CurrentPrincipal,
                      app: App) -> CounterSessionView:
    """The caller's own open session (each use keeps it open longer)."""
    return await app.counter.get(principal, session_id)


@router.delete(_SESSIONS + "/{session_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=_errors)
async def close_session(session_id: str, principal: CurrentPrincipal, app: App) -> Response:
    """End the session."""
    await app.counter.close(principal, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(_SESSIONS + "/{session_id}/filings", status_code=status.HTTP_201_CREATED,
             responses=_errors)
async def prepare_filing(session_id: str, body: PrepareFiling, principal: CurrentPrincipal,
                         app: App) -> PreparedFiling:
    """Check a procedure's form for the session's resident; nothing is filed yet."""
    return await app.counter.prepare(principal, session_id, body)


@router.post(_SESSIONS + "/{session_id}/life-events/{life_event_id}",
             status_code=status.HTTP_201_CREATED, responses=_errors)
async def prepare_life_event(session_id: str, life_event_id: str, body: PrepareLifeEvent,
                             principal: CurrentPrincipal, app: App) -> PreparedFiling:
    """Check a life event's answers for the session's resident; nothing is filed yet."""
    return await app.counter.prepare_life_event(principal, session_id, life_event_id, body)


@router.get(_SESSIONS + "/{session_id}/filings/{filing_id}", responses=_errors)
async def get_filing(session_id: str, filing_id: str, principal: CurrentPrincipal,
                     app: App) -> PreparedFiling:
    """A prepared filing, as the resident's confirmation page shows it."""
    return await app.counter.filing(principal, session_id, filing_id)


@router.post(_SESSIONS + "/{session_id}/filings/{filing_id}/confirm", responses=_errors)
async def confirm_filing(session_id: str, filing_id: str, principal: CurrentPrincipal,
                         app: App) -> ConfirmedFiling:
    """The resident confirmed what they read: file it (again: the first result)."""
    return await app.counter.confirm(principal, session_id, filing_id)


@router.post("/api/counter/helper-codes", status_code=status.HTTP_201_CREATED,
             responses=_errors)
async def helper_code(body: HelperCodeRequest, principal: CurrentPrincipal,
                      app: App) -> HelperCode:
    """A digital-support helper's code for the resident they help to enter on the filing."""
    return await app.counter.helper_code(principal, body.municipality)
