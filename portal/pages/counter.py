"""The counter pages (#19): counter staff open a session for the resident present.

Thin callers of ``services.counter.CounterService``: a page checks the role, parses the
form (``portal.web.counter``), calls one method and renders. Only staff with the role
``counter`` see them; nothing here works without the service's session.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forms.schemaform import SchemaForm
from identity.counter import CHECK_METHODS
from identity.principals import Caseworker
from portal.deps import application_of
from portal.web import i18n
from portal.web.bundles import text_of
from portal.web.cases import field_value
from portal.web.counter import (
    counter_service,
    event_form,
    open_request,
    read_posted,
    session_bar,
    staff_of,
)
from portal.web.receipt import receipt_values
from portal.web.render import page, redirect, render
from services.counter import CounterSessionView, PrepareFiling
from services.refusals import InvalidData

router = APIRouter(include_in_schema=False)


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
    return _open_page(request, staff_of(request))


@router.post("/counter/sessions")
@page
async def open_session(request: Request) -> Response:
    """Open the session (the registry is asked by the service), then its page."""
    staff = staff_of(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    municipality = form.get("municipality", "")
    if municipality not in staff.municipalities:
        municipality = sorted(staff.municipalities)[0]
    opened, errors = open_request(form, municipality)
    if opened is None:
        return _open_page(request, staff, status=422, values=form, errors=errors)
    view = await counter_service(request).open(staff, opened)
    return redirect(f"/counter/s/{view.id}")


@router.get("/counter/s/{session_id}")
@page
async def session_page(request: Request, session_id: str) -> Response:
    """The open session: who is present, how they were checked, until when; what to file."""
    staff = staff_of(request)
    view = await counter_service(request).get(staff, session_id)
    app = application_of(request)
    procedures = [{"id": p.definition.id, "title": p.definition.title.model_dump()}
                  for p in app.catalogue.latest(view.municipality)]
    life_events = [{"id": e.id, "title": text_of(e.title)}
                   for e in app.life_events.summaries(view.municipality)]
    return render(request, "counter/session.html", principal=staff, procedures=procedures,
                  life_events=life_events, **session_bar(view))


@router.post("/counter/s/{session_id}/close")
@page
async def close_session(request: Request, session_id: str) -> Response:
    """End the session; back to the page that opens the next one."""
    staff = staff_of(request)
    await counter_service(request).close(staff, session_id)
    return redirect("/counter?closed=1")


@router.get("/counter/s/{session_id}/f/{filing_id}")
@page
async def confirmation(request: Request, session_id: str, filing_id: str) -> Response:
    """The resident's confirmation page: large type, what will be filed, yes or correct."""
    staff = staff_of(request)
    service = counter_service(request)
    view = await service.get(staff, session_id)
    filing = await service.filing(staff, session_id, filing_id)
    if filing.confirmed and filing.result_id:
        return redirect(_filed_url(session_id, filing.kind, filing.result_id))
    lang = i18n.request_lang(request)
    chosen: list[str] = []
    if filing.kind == "procedure":
        form = _counter_form(request, view.municipality, filing.target)
        # PreparedFiling.data holds the prepared request: the form's answers are its "data".
        fields = form.all_fields(filing.data.get("data", {}))
    else:
        # A life event's request: the questionnaire's "answers" and the "selected" procedures.
        answers = filing.data.get("answers", {})
        fields = event_form(request, view.municipality, filing.target).all_fields(answers)
        selected = set(filing.data.get("selected", []))
        chosen = [i18n.pick(text_of(o.title), lang)
                  for o in await service.offers(staff, session_id, filing.target, answers)
                  if o.eligible and (o.required or o.procedure in selected)]
    return render(request, "counter/confirm.html", principal=staff, filing=filing,
                  fields=fields, chosen=chosen, show_value=lambda f: field_value(f, lang),
                  **session_bar(view))


def _filed_url(session_id: str, kind: str, result_id: str) -> str:
    """Where a confirmed filing is shown: a case's receipt, or a bundle's procedures."""
    if kind == "procedure":
        return f"/counter/s/{session_id}/cases/{result_id}/receipt"
    return f"/counter/s/{session_id}/bundles/{result_id}?filed=1"


@router.post("/counter/s/{session_id}/f/{filing_id}/confirm")
@page
async def confirm(request: Request, session_id: str, filing_id: str) -> Response:
    """「はい、この内容で申請します」: file it, then the receipt to print."""
    staff = staff_of(request)
    done = await counter_service(request).confirm(staff, session_id, filing_id)
    if done.application is not None:
        return redirect(_filed_url(session_id, "procedure", done.application.application_id))
    return redirect(_filed_url(session_id, "life_event", str(done.bundle_id)))


@router.get("/counter/s/{session_id}/cases/{application_id}/receipt")
@page
async def counter_receipt(request: Request, session_id: str, application_id: str
                          ) -> Response:
    """The 申請控え to print for the resident present (the same sheet as theirs)."""
    staff = staff_of(request)
    view = await counter_service(request).get(staff, session_id)
    values = await receipt_values(request, staff, application_id)
    return render(request, "receipt.html", principal=staff, back=f"/counter/s/{session_id}",
                  **values, **session_bar(view))


def _counter_form(request: Request, municipality: str, procedure_id: str) -> SchemaForm:
    app = application_of(request)
    procedure = app.catalogue.procedure(procedure_id, municipality=municipality)
    return SchemaForm(procedure.form_schema, messages=procedure.messages,
                      municipality=app.catalogue.municipality(municipality))


def _form_page(request: Request, staff: Caseworker, view: CounterSessionView,
               procedure_id: str, form: SchemaForm, data: dict, errors: list,
               status: int = 200) -> Response:
    title = application_of(request).catalogue.procedure(
        procedure_id, municipality=view.municipality).definition.title.model_dump()
    return render(request, "counter/form.html", status=status, principal=staff,
                  fields=form.all_fields(data, errors), errors=errors, title=title,
                  draft=data, action=f"/counter/s/{view.id}/apply/{procedure_id}",
                  **session_bar(view))


@router.get("/counter/s/{session_id}/apply/{procedure_id}")
@page
async def counter_form(request: Request, session_id: str, procedure_id: str) -> Response:
    """The whole form on one dense page (the catalogue's own rendering), keyboard first."""
    staff = staff_of(request)
    view = await counter_service(request).get(staff, session_id)
    form = _counter_form(request, view.municipality, procedure_id)
    return _form_page(request, staff, view, procedure_id, form, {}, [])


@router.post("/counter/s/{session_id}/apply/{procedure_id}")
@page
async def counter_prepare(request: Request, session_id: str, procedure_id: str
                          ) -> Response:
    """Prepare the filing (validated, nothing filed), then the resident's confirmation."""
    staff = staff_of(request)
    service = counter_service(request)
    view = await service.get(staff, session_id)
    form = _counter_form(request, view.municipality, procedure_id)
    posted = await request.form()
    data = read_posted(form, posted)
    nav = str(posted.get("_nav") or "")
    if nav.startswith("add:"):
        data = form.with_item_added(data, nav[4:])
    if nav.startswith(("add:", "remove:")):
        if nav.startswith("remove:"):
            pointer, _, position = nav[7:].rpartition(":")
            data = form.with_item_removed(data, pointer, int(position) if position.isdigit()
                                          else -1)
        return _form_page(request, staff, view, procedure_id, form, data, [])
    try:
        prepared = await service.prepare(staff, session_id, PrepareFiling(
            procedure_id=procedure_id, data=data, lang=i18n.request_lang(request)))
    except InvalidData as exc:
        return _form_page(request, staff, view, procedure_id, form, data, exc.errors,
                          status=422)
    return redirect(f"/counter/s/{session_id}/f/{prepared.id}")
