"""The resident's life-event pages (#18): choose what happened (被災した, 子どもが生まれた),
answer the shared questionnaire once (most of it prefilled, each value with where it came
from), see which procedures apply and why, tick the ones wanted, check once, submit once;
then the bundle's status page, and withdrawing one procedure or all.

The questionnaire's answers travel from page to page in hidden fields (``_draft``), as a
correction's do (see :mod:`portal.web.wizard`), not in the drafts store: a draft there
belongs to one procedure and is checked against that procedure's form, and the
questionnaire is short (a few questions, most prefilled), so a half-answered one is cheap
to start again. Where a value came from is never taken from the browser: the service
prefills again and decides it at submission; the pages only show it. The filing carries an
idempotency key made when the questionnaire opened (``_key``), so a double click or a
reload of 「申請する」 files one bundle.

Pages are thin: every decision (what applies, what is prefilled, who may see a bundle) is
``services.life_events.LifeEventService``'s.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forms.schemaform import SchemaForm, errors_for
from forms.validation import FieldError, validate_data
from identity.principals import Resident
from portal.deps import application_of
from portal.statuses import retry_after_header
from portal.web import i18n, session
from portal.web.bundles import (
    life_event_entries,
    member_facts,
    member_rows,
    posted_json,
    sources,
    text_of,
)
from portal.web.cases import field_value
from portal.web.render import page, redirect, render
from services.refusals import InvalidData, Refused

router = APIRouter(include_in_schema=False)

OFFERS = "_offers"
CHECK = "_check"
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _resident(request: Request) -> Resident:
    principal = session.require_principal(request)
    if not isinstance(principal, Resident):
        raise Refused("forbidden", "resident_only", "このページは住民の方のためのページです。",
                      "This page is for residents.")
    return principal


def _service(request: Request) -> Any:
    return application_of(request).life_events


# ---- choosing -------------------------------------------------------------------------


@router.get("/life-events")
@page
async def choose(request: Request, event: str | None = None, municipality: str | None = None,
                 problem: str | None = None) -> Response:
    """Choose what happened and the municipality."""
    principal = _resident(request)
    return render(
        request, "resident/life_events.html", principal=principal,
        events=await life_event_entries(request),
        municipalities=application_of(request).catalogue.municipalities(),
        chosen_event=event, chosen_municipality=municipality,
        problem=problem if problem in ("f-event", "f-municipality") else None,
    )


@router.get("/life-events/start")
@page
async def start(request: Request, event: str | None = None,
                municipality: str | None = None) -> Response:
    """Go to the questionnaire of the chosen life event."""
    _resident(request)
    codes = {m.code for m in application_of(request).catalogue.municipalities()}
    events = {e["id"] for e in await life_event_entries(request)}
    if event not in events or municipality not in codes:
        problem = "f-event" if event not in events else "f-municipality"
        query = f"problem={problem}"
        if event in events:
            query += f"&event={quote(event or '')}"
        if municipality in codes:
            query += f"&municipality={quote(municipality or '')}"
        return redirect(f"/life-events?{query}")
    return redirect(f"/life-events/{municipality}/{event}")


# ---- the questionnaire ----------------------------------------------------------------


class _Run:
    """One pass through a life event's pages: the questionnaire (from the service) and what
    the resident answered and chose so far (from the hidden fields)."""

    def __init__(self, request: Request, principal: Resident, municipality: str, event: str,
                 questionnaire: Any) -> None:
        self.request = request
        self.principal = principal
        self.municipality = municipality
        self.event = event
        self.q = questionnaire
        # The questionnaire as the catalogue holds it (x-choices, x-ui, both languages), as
        # the wizard renders a procedure's form; ``form_schema`` is the API's localized copy.
        event_package = _service(request).life_event(event, municipality)
        self.form = SchemaForm(event_package.questionnaire, messages=event_package.messages,
                               municipality=application_of(request).catalogue
                               .municipality(municipality))
        self.page_ids = self.form.page_ids()
        self.answers: dict[str, Any] = json.loads(json.dumps(questionnaire.answers))
        self.selected: list[str] | None = None
        self.key = secrets.token_urlsafe(18)
        self.refused: Refused | None = None  # why the submission was not filed
        self.base = f"/life-events/{municipality}/{event}"

    def load(self, form: Any) -> None:
        answers = posted_json(form.get("_draft"), dict)
        if answers is not None:
            self.answers = answers
        selected = posted_json(form.get("_selected"), list)
        if selected is not None:
            self.selected = [s for s in selected if isinstance(s, str)]
        key = str(form.get("_key") or "")
        if _KEY.match(key):
            self.key = key

    def _common(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "title": text_of(self.q.title),
            "action": self.base,
            "submit_action": self.base + "/submit",
            "draft": self.answers,
            "selected": self.selected,
            "key": self.key,
            "registry": self.q.registry,
            "sources": sources(self.q.answers, self.q.provenance, self.answers),
            "page_count": len(self.page_ids) + 2,
        }

    def show(self, page_id: str, errors: list[FieldError] | None = None) -> Response:
        page_obj = self.form.page(page_id, self.answers, errors)
        if errors:
            order = {f.pointer: i for i, f in enumerate(page_obj.all_fields())}
            errors = sorted(errors, key=lambda e: order.get(e.path, len(order)))
        return render(
            self.request, "resident/life_event_page.html", status=422 if errors else 200,
            page=page_obj, errors=errors or [],
            page_number=self.page_ids.index(page_id) + 1,
            has_arrays=any(f.kind == "array" for f in page_obj.all_fields()),
            prefilled=bool(self.q.provenance),
            **self._common(),
        )

    async def offers_page(self, problem: bool = False) -> Response:
        offers = await _service(self.request).offers(
            self.principal, self.event, self.municipality, self.answers)
        lang = i18n.request_lang(self.request)
        chosen = self.selected
        rows = []
        for o in offers:
            ticked = o.required or (o.selected if chosen is None else o.procedure in chosen)
            rows.append({
                "procedure": o.procedure, "title": i18n.pick(text_of(o.title), lang),
                "eligible": o.eligible, "required": o.required, "ticked": ticked,
                "reason": i18n.pick(text_of(o.reason), lang) if o.reason else "",
                "after": i18n.pick(text_of(o.after), lang) if o.after else None,
            })
        return render(
            self.request, "resident/life_event_offers.html", status=422 if problem else 200,
            offers=rows, problem=problem, page_number=len(self.page_ids) + 1,
            **self._common(),
        )

    async def check(self) -> Response:
        offers = await _service(self.request).offers(
            self.principal, self.event, self.municipality, self.answers)
        lang = i18n.request_lang(self.request)
        chosen = [{"title": i18n.pick(text_of(o.title), lang),
                   "after": i18n.pick(text_of(o.after), lang) if o.after else None}
                  for o in offers
                  if o.eligible and (o.required or o.procedure in (self.selected or []))]
        common = self._common()
        # On the check page every answer says where it came from, also one inside a
        # prefilled group or list (the account, the household's members).
        common["sources"] = _leaf_sources(self.form.all_fields(self.answers),
                                          common["sources"])
        refused = self.refused
        busy = retry_after_header(refused) if refused else None  # not now: 503, answers kept
        shown = render(
            self.request, "resident/life_event_check.html",
            status=(503 if busy else 409) if refused else 200,
            pages=self.form.pages(self.answers), chosen=chosen,
            refusal={"message": refused.message} if refused else None,
            show_value=lambda f: field_value(f, lang), page_number=len(self.page_ids) + 2,
            **common,
        )
        shown.headers.update(busy or {})
        return shown

    def page_errors(self, page_id: str) -> list[FieldError]:
        fields = self.form.page(page_id, self.answers).fields
        result = validate_data(self.form.schema, self.answers, messages=self.form.messages)
        return errors_for(result.errors, [f.pointer for f in fields])


def _leaf_sources(fields: list[Any], shown: dict[str, str]) -> dict[str, str]:
    """``shown`` with each answer inside a sourced group or list given that source."""
    result = dict(shown)

    def walk(f: Any, inherited: str | None) -> None:
        here = shown.get(f.pointer, inherited)
        if here and f.pointer not in result:
            result[f.pointer] = here
        for child in f.children:
            walk(child, here)
        for item in f.items:
            for child in item:
                walk(child, here)

    for f in fields:
        walk(f, None)
    return result


async def _run(request: Request, municipality: str, event: str) -> _Run | Response:
    """The questionnaire, or the household's existing bundle when there is one."""
    principal = _resident(request)
    q = await _service(request).questionnaire(principal, event, municipality,
                                              i18n.request_lang(request))
    if q.existing_bundle:
        return render(request, "resident/life_event_existing.html", principal=principal,
                      title=text_of(q.title), bundle_id=q.existing_bundle)
    return _Run(request, principal, municipality, event, q)


@router.get("/life-events/{municipality}/{event}")
@page
async def questionnaire(request: Request, municipality: str, event: str) -> Response:
    """The first page of the questionnaire, prefilled."""
    run = await _run(request, municipality, event)
    if isinstance(run, Response):
        return run
    return run.show(run.page_ids[0])


@router.post("/life-events/{municipality}/{event}")
@page
async def questionnaire_post(request: Request, municipality: str, event: str) -> Response:
    """A page's answers (or the offers ticked): the next page, or this one with problems."""
    run = await _run(request, municipality, event)
    if isinstance(run, Response):
        return run
    form = await request.form()
    run.load(form)
    page_id = str(form.get("_page") or "")
    nav = str(form.get("_nav") or "next")
    if nav.startswith("goto:") and nav[5:] in (*run.page_ids, OFFERS):
        target = nav[5:]
        return await run.offers_page() if target == OFFERS else run.show(target)
    if page_id == OFFERS:
        run.selected = [str(v) for v in form.getlist("procedure")]
        if nav == "back":
            return run.show(run.page_ids[-1])
        return await run.check()
    if page_id == CHECK:
        return await run.offers_page() if nav == "back" else await run.check()
    if page_id not in run.page_ids:
        return run.show(run.page_ids[0])
    index = run.page_ids.index(page_id)
    fields = run.form.page(page_id, run.answers).fields
    run.answers = run.form.read(fields, form, run.answers)
    if nav.startswith("add:"):
        run.answers = run.form.with_item_added(run.answers, nav[4:])
        return run.show(page_id)
    if nav.startswith("remove:"):
        pointer, _, position = nav[7:].rpartition(":")
        run.answers = run.form.with_item_removed(
            run.answers, pointer, int(position) if position.lstrip("-").isdigit() else -1)
        return run.show(page_id)
    if nav == "back":
        if index == 0:
            return redirect(f"/life-events?event={quote(event)}&municipality="
                            f"{quote(municipality)}")
        return run.show(run.page_ids[index - 1])
    errors = run.page_errors(page_id)
    if errors:
        return run.show(page_id, errors)
    if index + 1 < len(run.page_ids):
        return run.show(run.page_ids[index + 1])
    return await run.offers_page()


@router.post("/life-events/{municipality}/{event}/submit")
@page
async def submit(request: Request, municipality: str, event: str) -> Response:
    """Submit once: every procedure chosen is filed (POST-redirect-GET to the status)."""
    run = await _run(request, municipality, event)
    if isinstance(run, Response):
        return run
    run.load(await request.form())
    try:
        view = await _service(request).submit(
            run.principal, event, municipality, run.answers, run.selected or [],
            lang=i18n.request_lang(request), idempotency_key=f"life-event-page:{run.key}")
    except InvalidData as exc:
        for page_id in run.page_ids:
            mine = errors_for(exc.errors, [f.pointer for f in
                                           run.form.page(page_id, run.answers).fields])
            if mine:
                return run.show(page_id, mine)
        raise
    except Refused as exc:
        existing = (exc.details or {}).get("existing_bundle")
        if exc.kind == "conflict" and isinstance(existing, str):
            return render(request, "resident/life_event_existing.html",
                          principal=run.principal, title=text_of(run.q.title),
                          bundle_id=existing)
        if exc.kind not in ("conflict", "forbidden", "unavailable"):  # busy: answers kept
            raise
        run.refused = exc
        return await run.check()
    return redirect(f"/my/bundles/{quote(view.bundle_id)}?filed=1")


# ---- the bundle -----------------------------------------------------------------------


@router.get("/my/bundles/{bundle_id}")
@page
async def bundle(request: Request, bundle_id: str, filed: str | None = None,
                 done: str | None = None) -> Response:
    """Every procedure of the bundle: its stage in plain words, what it waits for, its
    documents (each case's own sealed 申請控え among them); withdraw one or all."""
    principal = _resident(request)
    view = await _service(request).status(principal, bundle_id)
    lang = i18n.request_lang(request)
    members = member_rows(view.members, lang, document_base="/my/documents/",
                          case_base="/my/applications/")
    catalogue = application_of(request).catalogue
    for member, row in zip(view.members, members, strict=True):
        row["facts"] = member_facts(catalogue, view.municipality, member, lang)
    return render(
        request, "resident/bundle.html", principal=principal, bundle=view,
        title=view.title, members=members, filed=bool(filed),
        done=done if done in ("withdraw", "withdraw_all") else None,
        may_withdraw=[m.procedure for m in view.members if m.may_withdraw],
        may_withdraw_all=view.may_withdraw_all,
    )


@router.get("/my/bundles/{bundle_id}/withdraw")
@page
async def withdraw_confirm(request: Request, bundle_id: str,
                           procedure: str | None = None) -> Response:
    """Ask before withdrawing one procedure (``?procedure=``) or every one still open."""
    principal = _resident(request)
    view = await _service(request).status(principal, bundle_id)
    lang = i18n.request_lang(request)
    member = next((m for m in view.members if m.procedure == procedure), None)
    if procedure is not None and member is None:
        return redirect(f"/my/bundles/{quote(bundle_id)}")
    return render(
        request, "resident/bundle_withdraw.html", principal=principal, bundle_id=bundle_id,
        title=view.title, procedure=procedure,
        procedure_title=i18n.pick(member.title, lang) if member else None,
    )


@router.post("/my/bundles/{bundle_id}/withdraw")
@page
async def withdraw(request: Request, bundle_id: str) -> Response:
    """Withdraw (POST-redirect-GET)."""
    principal = _resident(request)
    form = await request.form()
    procedure = str(form.get("procedure") or "") or None
    await _service(request).withdraw(principal, bundle_id, procedure)
    done = "withdraw" if procedure else "withdraw_all"
    return redirect(f"/my/bundles/{quote(bundle_id)}?done={done}")
