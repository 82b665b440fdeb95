"""Applications: file, list, read, act."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, status

from portal.deps import App, CurrentPrincipal
from portal.errors import ErrorBody
from portal.schemas import ActionIn, ApplicationIn, ApplicationOut
from services.queues import CaseSummary

router = APIRouter(prefix="/api/applications", tags=["applications"])
_errors = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)}


@router.post("", status_code=status.HTTP_201_CREATED, responses=_errors)
async def file_application(
    body: ApplicationIn,
    principal: CurrentPrincipal,
    app: App,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> ApplicationOut:
    """File an application (residents). Send an `Idempotency-Key` to retry safely."""
    helper = (app.counter.helper_of(principal, body.municipality, body.assisted_code)
              if body.assisted_code else None)
    view = await app.cases.submit(principal, body.procedure, body.municipality, body.data,
                                  lang=body.lang, idempotency_key=idempotency_key,
                                  proxy=body.proxy, assisted_by=helper)
    # Built from the filing itself: querying the new case would wait for a worker.
    return ApplicationOut.build(app.cases.details_of(principal, view), principal)


@router.get("", responses=_errors)
async def list_applications(principal: CurrentPrincipal, app: App) -> list[CaseSummary]:
    """A resident's own applications, or a caseworker's municipalities' applications."""
    return await app.cases.list_cases(principal)


@router.get("/{application_id}", responses=_errors)
async def read_application(
    application_id: str, principal: CurrentPrincipal, app: App
) -> ApplicationOut:
    """Status, stage, timeline and the actions the caller may take now."""
    details = await app.cases.details(principal, application_id)
    return ApplicationOut.build(details, principal,
                                app.notices.deliveries(principal, application_id))


@router.post("/{application_id}/actions", responses=_errors)
async def act_on_application(
    application_id: str, body: ActionIn, principal: CurrentPrincipal, app: App
) -> ApplicationOut:
    """Take an action: a caseworker's decision, or the applicant's correction or withdrawal."""
    details = await app.cases.act(principal, application_id, body.action, body.comment,
                                  body.data)
    return ApplicationOut.build(details, principal,
                                app.notices.deliveries(principal, application_id))
