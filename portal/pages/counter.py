"""The counter pages (#19): counter staff open a session for the resident present.

Thin callers of ``services.counter.CounterService``: a page checks the role, parses the
form (``portal.web.counter``), calls one method and renders. Only staff with the role
``counter`` see them; nothing here works without the service's session.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from identity.counter import CHECK_METHODS, COUNTER_ROLE
from identity.principals import Caseworker
from portal.deps import application_of
from portal.web import session
from portal.web.counter import open_request
from portal.web.render import page, redirect, render
from services.counter import CounterService
from services.refusals import Refused

router = APIRouter(include_in_schema=False)


def _staff(request: Request) -> Caseworker:
    principal = session.require_principal(request)
    if not isinstance(principal, Caseworker) or COUNTER_ROLE not in principal.roles:
        raise Refused("forbidden", "counter_staff_only",
                      "このページは窓口担当の職員のためのページです。",
                      "This page is for counter staff.")
    return principal


def _service(request: Request) -> CounterService:
    # The Application gains ``counter`` with the counter core (h-counter); until a process
    # wires it, the counter says it is not available rather than failing.
    service = getattr(application_of(request), "counter", None)
    if service is None:
        raise Refused("unavailable", "counter_unavailable",
                      "窓口の受付はいま使えません。", "The counter is not available now.")
    return service


def _open_page(request: Request, staff: Caseworker, *, status: int = 200,
               values: dict[str, str] | None = None, errors: list | None = None) -> Response:
    return render(request, "counter/open.html", status=status, principal=staff,
                  methods=CHECK_METHODS, values=values or {}, errors=errors or [],
                  errors_at={e.path: e for e in errors or []},
                  municipalities=sorted(staff.municipalities))


@router.get("/counter")
@page
async def counter_home(request: Request) -> Response:
    """Open a counter session: how the identity was checked, the counter, the resident."""
    return _open_page(request, _staff(request))


@router.post("/counter/sessions")
@page
async def open_session(request: Request) -> Response:
    """Open the session (the registry is asked by the service), then its page."""
    staff = _staff(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    municipality = form.get("municipality", "")
    if municipality not in staff.municipalities:
        municipality = sorted(staff.municipalities)[0]
    opened, errors = open_request(form, municipality)
    if opened is None:
        return _open_page(request, staff, status=422, values=form, errors=errors)
    view = await _service(request).open(staff, opened)
    return redirect(f"/counter/s/{view.id}")
