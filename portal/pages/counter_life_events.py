"""A life event at the counter (#19): おくやみ keyed once for the resident present.

Counter staff choose a life event on the session page, key its whole questionnaire on one
dense page (the catalogue's rendering, prefilled from the registry's record of the person
present), tick the procedures it offers, and the resident confirms on the large-type
confirmation page (``portal.pages.counter``); then the bundle's page lists each procedure
filed. Thin callers of ``services.counter.CounterService``: the session (role ``counter``,
the staff member's own, not timed out) is checked by every call; the answers travel in a
hidden field between the two pages as on the resident's pages, and the service checks
them again when preparing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forms.validation import FieldError, validate_data
from identity.principals import Caseworker
from portal.deps import application_of
from portal.web import i18n
from portal.web.bundles import member_rows, posted_json, text_of
from portal.web.counter import (
    counter_service,
    event_form,
    read_posted,
    session_bar,
    staff_of,
)
from portal.web.render import page, redirect, render
from services.counter import CounterSessionView, PrepareLifeEvent
from services.refusals import InvalidData

router = APIRouter(include_in_schema=False)


def _base(view: CounterSessionView, event: str) -> str:
    return f"/counter/s/{view.id}/life-events/{quote(event)}"


def _questionnaire_page(request: Request, staff: Caseworker, view: CounterSessionView,
                        event: str, title: dict, answers: dict[str, Any],
                        errors: list[FieldError], status: int = 200) -> Response:
    form = event_form(request, view.municipality, event)
    if errors:
        order = {f.pointer: i for i, f in enumerate(form.all_fields(answers))}
        errors = sorted(errors, key=lambda e: order.get(e.path, len(order)))
    return render(request, "counter/form.html", status=status, principal=staff,
                  fields=form.all_fields(answers, errors), errors=errors, title=title,
                  draft=answers, action=_base(view, event), **session_bar(view))


@router.get("/counter/s/{session_id}/life-events/{event}")
@page
async def life_event_form(request: Request, session_id: str, event: str) -> Response:
    """The whole questionnaire on one page, prefilled for the resident present."""
    staff = staff_of(request)
    service = counter_service(request)
    view = await service.get(staff, session_id)
    q = await service.questionnaire(staff, session_id, event, i18n.request_lang(request))
    if q.existing_bundle:
        return redirect(f"/counter/s/{session_id}/bundles/{quote(q.existing_bundle)}")
    return _questionnaire_page(request, staff, view, event, text_of(q.title), q.answers, [])


async def _offers_page(request: Request, staff: Caseworker, view: CounterSessionView,
                       event: str, answers: dict[str, Any], selected: list[str] | None,
                       problem: bool = False) -> Response:
    offers = await counter_service(request).offers(staff, view.id, event, answers)
    lang = i18n.request_lang(request)
    rows = [{"procedure": o.procedure, "title": i18n.pick(text_of(o.title), lang),
             "eligible": o.eligible, "required": o.required,
             "ticked": o.required or (o.selected if selected is None
                                      else o.procedure in selected),
             "reason": i18n.pick(text_of(o.reason), lang) if o.reason else "",
             "after": i18n.pick(text_of(o.after), lang) if o.after else None}
            for o in offers]
    title = application_of(request).life_events.life_event(
        event, view.municipality).definition.title.model_dump()
    return render(request, "counter/life_event_offers.html", status=422 if problem else 200,
                  principal=staff, offers=rows, draft=answers, title=title,
                  problem=problem, action=_base(view, event) + "/prepare", **session_bar(view))


@router.post("/counter/s/{session_id}/life-events/{event}")
@page
async def life_event_answers(request: Request, session_id: str, event: str) -> Response:
    """The questionnaire keyed: its problems at their fields, or the procedures to tick."""
    staff = staff_of(request)
    view = await counter_service(request).get(staff, session_id)
    form = event_form(request, view.municipality, event)
    title = application_of(request).life_events.life_event(
        event, view.municipality).definition.title.model_dump()
    posted = await request.form()
    answers = read_posted(form, posted)
    nav = str(posted.get("_nav") or "")
    if nav.startswith("add:"):
        answers = form.with_item_added(answers, nav[4:])
    if nav.startswith("remove:"):
        pointer, _, position = nav[7:].rpartition(":")
        answers = form.with_item_removed(answers, pointer, int(position)
                                         if position.lstrip("-").isdigit() else -1)
    if nav.startswith(("add:", "remove:")):
        return _questionnaire_page(request, staff, view, event, title, answers, [])
    errors = validate_data(form.schema, answers, messages=form.messages).errors
    if errors:
        return _questionnaire_page(request, staff, view, event, title, answers, errors,
                                   status=422)
    return await _offers_page(request, staff, view, event, answers, None)


@router.post("/counter/s/{session_id}/life-events/{event}/prepare")
@page
async def life_event_prepare(request: Request, session_id: str, event: str) -> Response:
    """The procedures ticked: prepare the filing (nothing filed), then the confirmation."""
    staff = staff_of(request)
    service = counter_service(request)
    view = await service.get(staff, session_id)
    posted = await request.form()
    answers = posted_json(posted.get("_draft"), dict) or {}
    selected = [str(v) for v in posted.getlist("procedure")]
    title = application_of(request).life_events.life_event(
        event, view.municipality).definition.title.model_dump()
    if str(posted.get("_nav") or "") == "back":
        return _questionnaire_page(request, staff, view, event, title, answers, [])
    if not selected:
        return await _offers_page(request, staff, view, event, answers, selected,
                                  problem=True)
    try:
        prepared = await service.prepare_life_event(staff, session_id, event, PrepareLifeEvent(
            answers=answers, selected=selected, lang=i18n.request_lang(request)))
    except InvalidData as exc:
        return _questionnaire_page(request, staff, view, event, title, answers, exc.errors,
                                   status=422)
    return redirect(f"/counter/s/{session_id}/f/{prepared.id}")


@router.get("/counter/s/{session_id}/bundles/{bundle_id}")
@page
async def counter_bundle(request: Request, session_id: str, bundle_id: str,
                         filed: str | None = None) -> Response:
    """Each procedure the bundle filed, its state, and its 申請控え to print."""
    staff = staff_of(request)
    service = counter_service(request)
    view = await service.get(staff, session_id)
    status = await service.bundle(staff, session_id, bundle_id)
    lang = i18n.request_lang(request)
    members = member_rows(status.members, lang, document_base="", case_base=None)
    for member, row in zip(status.members, members, strict=True):
        row["receipt_url"] = (f"/counter/s/{session_id}/cases/{member.application_id}/receipt"
                              if member.application_id else None)
    return render(request, "counter/bundle.html", principal=staff, bundle=status,
                  title=status.title, members=members, filed=bool(filed), **session_bar(view))
