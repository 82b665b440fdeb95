"""The resident's pages: apply (whom for, then a form generated from the procedure's
schema, one part per page, then check your answers), my applications, drafts, correction,
withdrawal, documents, inbox.

The form itself is :class:`portal.web.wizard.Wizard`. Every POST that changes a case
(submit, correct, withdraw) answers with a redirect (PRG).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forms.schemaform import SchemaForm
from forms.validation import validate_data
from identity.principals import Resident
from portal.deps import application_of
from portal.statuses import status_of
from portal.web import assisted, i18n, session
from portal.web.cases import application_extras, proxy_view, status_view, timeline_entries
from portal.web.render import error_page, page, redirect, render
from portal.web.wizard import CHECK, DRAFT_ID, Wizard
from services.application import Application
from services.refusals import InvalidData, Refused
from workflows.references import spoken_reference

router = APIRouter(include_in_schema=False)



def _resident(request: Request) -> Resident:
    principal = session.require_principal(request)
    if not isinstance(principal, Resident):
        raise Refused(
            "forbidden",
            "resident_only",
            "このページは住民の方のためのページです。",
            "This page is for residents.",
        )
    return principal


def _app(request: Request) -> Application:
    return application_of(request)


# ---- choosing -------------------------------------------------------------------------


@router.get("/apply")
@page
async def choose(
    request: Request,
    municipality: str | None = None,
    procedure: str | None = None,
    problem: str | None = None,
) -> Response:
    """Choose the municipality and the procedure."""
    principal = _resident(request)
    catalogue = _app(request).catalogue
    return render(
        request,
        "resident/choose.html",
        principal=principal,
        municipalities=catalogue.municipalities(),
        procedures=[
            {"id": p.id, "title": p.definition.title.model_dump()}
            for p in catalogue.latest()
            if p.definition.applicant in ("resident", "any")
        ],
        chosen_municipality=municipality,
        chosen_procedure=procedure,
        problem=problem if problem in ("f-municipality", "f-procedure") else None,
    )


@router.get("/apply/start")
@page
async def start(
    request: Request, municipality: str | None = None, procedure: str | None = None
) -> Response:
    """Go to the first page of the chosen form."""
    _resident(request)
    catalogue = _app(request).catalogue
    codes = {m.code for m in catalogue.municipalities()}
    ids = {p.id for p in catalogue.latest()}
    if municipality not in codes or procedure not in ids:
        problem = "f-municipality" if municipality not in codes else "f-procedure"
        query = f"problem={problem}"
        if municipality in codes:
            query += f"&municipality={municipality}"
        if procedure in ids:
            query += f"&procedure={quote(procedure or '')}"
        return redirect(f"/apply?{query}")
    return redirect(f"/apply/{municipality}/{procedure}")


# ---- the form -------------------------------------------------------------------------


def _new_wizard(request: Request, municipality_code: str, procedure_id: str) -> Wizard:
    principal = _resident(request)
    catalogue = _app(request).catalogue
    municipality = catalogue.municipality(municipality_code)
    procedure = catalogue.procedure(procedure_id, None, municipality.code)
    base = f"/apply/{municipality.code}/{procedure.id}"
    return Wizard(
        request,
        procedure,
        municipality,
        base,
        base + "/submit",
        correcting=False,
        principal=principal,
    )


@router.get("/apply/{municipality_code}/{procedure_id}")
@page
async def form_start(
    request: Request, municipality_code: str, procedure_id: str, draft: str | None = None
) -> Response:
    """The first page of a new application (``?draft=`` resumes a saved draft where the
    resident left off)."""
    wizard = _new_wizard(request, municipality_code, procedure_id)
    data: dict = {}
    if draft is not None:
        saved = wizard.open_draft(draft)
        if saved is None:
            return _no_draft(request)
        if wizard.filed:
            return redirect(f"/my/applications/{wizard.filed}")
        if wizard.persist:
            return redirect(wizard.page_url(wizard.last_page))
        return wizard.show(wizard.page_ids[0], saved)
    default = wizard.form.schema.get("properties", {})
    for name, node in default.items():
        if isinstance(node, dict) and "default" in node:
            data[name] = node["default"]
    principal = wizard.principal
    data = wizard.form.prefill(data, {"name": principal.name, "name_kana": principal.name_kana,
                                      "address": principal.address})
    return wizard.show(wizard.page_ids[0], data)


def _no_draft(request: Request) -> Response:
    return error_page(request, 404, {"ja": "下書きが見つかりません。", "en": "Draft not found."})


@router.post("/apply/{municipality_code}/{procedure_id}")
@page
async def form_page(request: Request, municipality_code: str, procedure_id: str) -> Response:
    """The first page's answer (a draft starts here); a form without a draft store."""
    return await _new_wizard(request, municipality_code, procedure_id).navigate()


@router.post("/apply/{municipality_code}/{procedure_id}/submit")
@page
async def submit(request: Request, municipality_code: str, procedure_id: str) -> Response:
    """Send an application whose answers came in hidden fields (no draft store)."""
    wizard = _new_wizard(request, municipality_code, procedure_id)
    data, problem = await wizard.submitted_data()
    if problem is not None:
        return problem
    return await _file(wizard, data)


async def _file(wizard: Wizard, data: dict) -> Response:
    """File ``data``; then show the application (POST-redirect-GET). A refusal (the same
    application already there, a campaign closed) is shown on the check page with every
    answer kept, to change them or to come back later."""
    request = wizard.request
    key = f"page-draft:{wizard.draft_id}" if wizard.persist and wizard.draft_id else None
    code = assisted.code_to_record(request)  # (#19) the helper beside them, never a proxy
    try:
        helper = (wizard.app.counter.helper_of(wizard.principal, wizard.municipality.code, code)
                  if code else None)
        view = await wizard.app.cases.submit(
            wizard.principal,
            wizard.procedure.id,
            wizard.municipality.code,
            data,
            lang=i18n.request_lang(request),
            proxy=wizard.proxy,
            idempotency_key=key,
            assisted_by=helper,
        )
    except InvalidData as exc:
        return wizard._first_problem(data, exc.errors)
    except Refused as exc:
        if exc.kind not in ("conflict", "forbidden", "unavailable"):  # busy: answers kept
            raise
        wizard.refusal = {"message": exc.message, "link": await _own_case(wizard, exc)}
        return wizard.check(data)
    if wizard.persist and wizard.draft_id:
        wizard.mark_filed(view.application_id)
    else:  # Filed: the case holds the answers now; the draft has done its job.
        wizard.app.drafts.discard_filed(wizard.principal, wizard.draft_id)
    return redirect(f"/my/applications/{view.application_id}?filed=1")


async def _own_case(wizard: Wizard, refused: Refused) -> str | None:
    """The link to the application a refusal names, only if it is the resident's own."""
    existing = (refused.details or {}).get("existing_application")
    if not isinstance(existing, str):
        return None
    try:
        await wizard.app.cases.details(wizard.principal, existing)
    except Refused:
        return None
    return f"/my/applications/{quote(existing)}"


@router.post("/apply/{municipality_code}/{procedure_id}/d/{draft_id}/_submit")
@page
async def draft_submit(
    request: Request, municipality_code: str, procedure_id: str, draft_id: str
) -> Response:
    """Send the application held in the draft; a repeat of the same submission (a double
    click, a reload) is answered with the application it filed."""
    opened = _opened(request, municipality_code, procedure_id, draft_id, filed_query="?filed=1")
    if isinstance(opened, Response):
        return opened
    wizard, data = opened
    problem = wizard.problem_of(data)
    if problem is not None:
        return problem
    return await _file(wizard, data)


def _opened(request: Request, municipality_code: str, procedure_id: str, draft_id: str,
            *, filed_query: str = "") -> tuple[Wizard, dict] | Response:
    """The wizard on its draft, or where to go instead (no such draft; already filed: its
    application, with ``filed_query``)."""
    wizard = _new_wizard(request, municipality_code, procedure_id)
    data = wizard.open_draft(draft_id)
    if data is None:
        return _no_draft(request)
    if wizard.filed:
        return redirect(f"/my/applications/{wizard.filed}{filed_query}")
    return wizard, data


@router.get("/apply/{municipality_code}/{procedure_id}/d/{draft_id}/{page_id}")
@page
async def draft_page(
    request: Request, municipality_code: str, procedure_id: str, draft_id: str, page_id: str,
    notice: str | None = None,
) -> Response:
    """One page of an application in progress, from its draft."""
    opened = _opened(request, municipality_code, procedure_id, draft_id)
    if isinstance(opened, Response):
        return opened
    wizard, data = opened
    if page_id != CHECK and page_id not in wizard.page_ids:
        return redirect(wizard.page_url(wizard.page_ids[0]))
    wizard.notice = notice if notice in ("saved",) else None
    return wizard.show(page_id, data, return_to_check=request.query_params.get("return")
                       == "check")


@router.post("/apply/{municipality_code}/{procedure_id}/d/{draft_id}/{page_id}")
@page
async def draft_page_post(
    request: Request, municipality_code: str, procedure_id: str, draft_id: str, page_id: str
) -> Response:
    """A page's answers: saved into the draft, then the next page (POST-redirect-GET)."""
    opened = _opened(request, municipality_code, procedure_id, draft_id)
    if isinstance(opened, Response):
        return opened
    wizard, data = opened
    return await wizard.navigate(data)


# ---- drafts ---------------------------------------------------------------------------


@router.get("/my/drafts")
@page
async def my_drafts(request: Request, deleted: str | None = None) -> Response:
    """The resident's saved drafts (from any device), most recently saved first."""
    principal = _resident(request)
    app = _app(request)
    lang = i18n.request_lang(request)
    rows = []
    for saved in _open_drafts(app, principal):
        title = {"ja": saved.procedure, "en": saved.procedure}
        with contextlib.suppress(Refused):
            title = app.catalogue.procedure(saved.procedure).definition.title.model_dump()
        name = app.catalogue.municipality_name(saved.municipality)
        place = i18n.pick(name, lang) if name else saved.municipality
        rows.append(
            {
                "id": saved.id,
                "title": title,
                "municipality": place,
                "updated_at": saved.updated_at,
                "resume": f"/apply/{saved.municipality}/{saved.procedure}?draft={saved.id}",
            }
        )
    return render(
        request, "resident/drafts.html", principal=principal, rows=rows, deleted=bool(deleted)
    )


def _open_drafts(app: Application, principal: Resident) -> list:
    """The resident's drafts still to be filed (a page-made draft that was filed keeps
    only the application's id, see portal.web.wizard)."""
    if not app.drafts.configured:
        return []
    return app.drafts.list(principal)  # the service leaves the filed markers out


@router.post("/my/drafts/{draft_id}/delete")
@page
async def delete_draft(request: Request, draft_id: str) -> Response:
    """Discard a draft (POST-redirect-GET)."""
    principal = _resident(request)
    drafts = _app(request).drafts
    if not drafts.configured or not DRAFT_ID.match(draft_id):
        return error_page(
            request, 404, {"ja": "下書きが見つかりません。", "en": "Draft not found."}
        )
    with contextlib.suppress(Refused):  # gone already (a second click): the same answer
        drafts.delete(principal, draft_id)
    return redirect("/my/drafts?deleted=1")


# ---- my applications ------------------------------------------------------------------


@router.get("/my")
@page
async def my_applications(request: Request) -> Response:
    """The resident's applications, newest first."""
    principal = _resident(request)
    app = _app(request)
    rows = []
    draft_count = len(_open_drafts(app, principal))
    for row in await app.cases.list_cases(principal):
        title: dict[str, str] = {"ja": row.procedure or "", "en": row.procedure or ""}
        with contextlib.suppress(Refused):
            title = app.catalogue.procedure(row.procedure or "").definition.title.model_dump()
        rows.append(
            {"id": row.id, "title": title, "status": row.status, "started_at": row.started_at,
             **status_view(app.catalogue, row)}  # (#17) reference, stage title
        )
    lang = i18n.request_lang(request)
    bundles = [{"id": b.bundle_id, "title": b.title, "submitted_at": b.submitted_at,
                "status": b.status,
                "members": [i18n.pick(m.title, lang) for m in b.members
                            if m.state in ("filed", "waiting")]}
               for b in await app.life_events.mine(principal)]  # (#18) above the cases
    return render(
        request, "resident/list.html", principal=principal, rows=rows, draft_count=draft_count,
        bundles=bundles,
    )


@router.get("/my/applications/{application_id}")
@page
async def application(
    request: Request, application_id: str, filed: str | None = None, done: str | None = None
) -> Response:
    """One application: status, correction request, documents, timeline, answers."""
    principal = _resident(request)
    app = _app(request)
    details = await app.cases.details(principal, application_id)
    view = details.view
    procedure = app.cases.pinned(view)
    municipality = app.catalogue.municipality(view.municipality)
    lang = i18n.request_lang(request)
    form = SchemaForm(
        procedure.form_schema,
        messages=procedure.messages,
        municipality=municipality,
        attachments=app.attachments.lookup,
        owner=view.applicant_key,
    )
    stage = procedure.definition.stage(view.stage)
    stage_actions = [a for a in (stage.actions if stage else []) if a.id in details.actions]
    return render(
        request,
        "resident/application.html",
        stage_title=stage.title.model_dump() if stage else None,
        stage_actions=stage_actions,
        principal=principal,
        app=view,
        actions=details.actions,
        procedure_title=procedure.definition.title.model_dump(),
        municipality_name=i18n.pick(municipality.name.model_dump(), lang),
        # A replaced 申請控え or a revoked certificate says so in its link, so two links
        # never read the same.
        documents=[{"id": ref.id, "title": ref.title, "status": app.documents.status(ref.id)}
                   for ref in view.documents],
        fields=form.all_fields(view.data),
        timeline=timeline_entries(view, procedure, lang, resident=True),
        filed=bool(filed),
        proxy_view=proxy_view(view.proxy, lang),
        done=done if done in ("withdraw", "submit_correction", "action") else None,
        **application_extras(view, procedure, municipality, lang),  # (#17)
    )


async def _correction_wizard(request: Request, application_id: str) -> tuple[Wizard, Any]:
    principal = _resident(request)
    app = _app(request)
    details = await app.cases.details(principal, application_id)
    if "submit_correction" not in details.actions:
        raise Refused(
            "conflict",
            "no_correction_requested",
            "補正は求められていません。",
            "No correction has been requested.",
        )
    view = details.view
    base = f"/my/applications/{application_id}/correction"
    wizard = Wizard(
        request,
        app.cases.pinned(view),
        app.catalogue.municipality(view.municipality),
        base,
        base + "/submit",
        correcting=True,
        principal=principal,
        asked=view.correction_comment,
    )
    return wizard, details


@router.get("/my/applications/{application_id}/correction")
@page
async def correction_start(request: Request, application_id: str) -> Response:
    """Answer a correction request: the form, filled with the application as sent."""
    wizard, details = await _correction_wizard(request, application_id)
    return wizard.show(wizard.page_ids[0], details.view.data)


@router.post("/my/applications/{application_id}/correction")
@page
async def correction_page(request: Request, application_id: str) -> Response:
    """The next (or previous) page of the correction."""
    wizard, _ = await _correction_wizard(request, application_id)
    return await wizard.navigate()


@router.post("/my/applications/{application_id}/correction/submit")
@page
async def correction_submit(request: Request, application_id: str) -> Response:
    """Send the corrected application (POST-redirect-GET)."""
    wizard, _ = await _correction_wizard(request, application_id)
    data, problem = await wizard.submitted_data()
    if problem is not None:
        return problem
    try:
        await wizard.app.cases.act(
            wizard.principal, application_id, "submit_correction", None, data
        )
    except InvalidData as exc:
        return wizard._first_problem(data, exc.errors)
    return redirect(f"/my/applications/{application_id}?done=submit_correction")


@router.get("/my/applications/{application_id}/withdraw")
@page
async def withdraw_confirm(request: Request, application_id: str) -> Response:
    """Ask before withdrawing."""
    principal = _resident(request)
    cases = _app(request).cases
    details = await cases.details(principal, application_id)
    if "withdraw" not in details.actions:
        return redirect(f"/my/applications/{application_id}")
    procedure = cases.pinned(details.view)
    return render(
        request,
        "resident/withdraw.html",
        principal=principal,
        app_id=application_id,
        procedure_title=procedure.definition.title.model_dump(),
    )


@router.post("/my/applications/{application_id}/withdraw")
@page
async def withdraw(request: Request, application_id: str) -> Response:
    """Withdraw (POST-redirect-GET)."""
    principal = _resident(request)
    await _app(request).cases.act(principal, application_id, "withdraw", None, None)
    return redirect(f"/my/applications/{application_id}?done=withdraw")


@router.get("/my/documents/{document_id}")
@page
async def document(request: Request, document_id: str) -> Response:
    """Download an issued document (the applicant, or a caseworker of the municipality)."""
    principal = session.require_principal(request)
    found = await _app(request).documents.download(principal, document_id)
    return Response(
        found.content,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/my/inbox")
@page
async def inbox(request: Request) -> Response:
    """The resident's notices, newest first."""
    principal = _resident(request)
    app = _app(request)
    entries = app.notices.inbox(principal, await app.cases.links.linked(principal))
    return render(
        request,
        "resident/inbox.html",
        principal=principal,
        entries=entries,
        link_base="/my/applications/",
        reference=spoken_reference,
    )


async def _stage_action(request: Request, application_id: str, action_id: str):
    principal = _resident(request)
    cases = _app(request).cases
    details = await cases.details(principal, application_id)
    procedure = cases.pinned(details.view)
    stage = procedure.definition.stage(details.view.stage)
    action = stage.action(action_id) if stage else None
    if action is None or action_id not in details.actions:
        raise Refused(
            "conflict", "not_available", "いまはこの操作はできません。", "This is not possible now."
        )
    return principal, procedure, action


def _step_form(procedure: Any, action: Any) -> SchemaForm | None:
    """The form of an applicant step that takes data (the grant's 実績報告), else None."""
    if not action.input_schema:
        return None
    return SchemaForm(procedure.step_schemas[action.input_schema], messages=procedure.messages)


def _stage_action_page(request: Request, principal: Resident, procedure: Any, action: Any,
                       application_id: str, *, data: dict | None = None,
                       errors: list | None = None, refusal: dict | None = None,
                       comment: str = "", status: int = 200) -> Response:
    step = _step_form(procedure, action)
    return render(
        request,
        "resident/stage_action.html",
        status=status,
        principal=principal,
        app_id=application_id,
        action=action,
        refusal=refusal,
        comment=comment,
        fields=step.all_fields(data or {}, errors or []) if step else [],
        errors=errors or [],
        draft=data or {},
        procedure_title=procedure.definition.title.model_dump(),
    )


@router.get("/my/applications/{application_id}/act/{action_id}")
@page
async def stage_action_confirm(request: Request, application_id: str, action_id: str) -> Response:
    """An applicant step of the procedure (e.g. ask for a re-survey, file the 実績報告: its
    form when the step takes data), with confirmation."""
    principal, procedure, action = await _stage_action(request, application_id, action_id)
    return _stage_action_page(request, principal, procedure, action, application_id)


@router.post("/my/applications/{application_id}/act/{action_id}")
@page
async def stage_action(request: Request, application_id: str, action_id: str) -> Response:
    """Take the applicant step (POST-redirect-GET); show the field errors or the workflow's
    refusal with everything typed kept. "Add another" / "remove" of a list re-show it."""
    principal, procedure, action = await _stage_action(request, application_id, action_id)
    form = await request.form()
    comment = str(form.get("comment") or "").strip()[:4000]
    step = _step_form(procedure, action)
    data = None
    if step is not None:
        data = step.read(step.all_fields(_posted(form)), form, _posted(form))
        nav = str(form.get("_nav") or "")
        if nav.startswith("add:") or nav.startswith("remove:"):
            if nav.startswith("add:"):
                data = step.with_item_added(data, nav[4:])
            else:
                pointer, _, position = nav[7:].rpartition(":")
                data = step.with_item_removed(
                    data, pointer, int(position) if position.lstrip("-").isdigit() else -1)
            return _stage_action_page(request, principal, procedure, action, application_id,
                                      data=data, comment=comment)
        result = validate_data(step.schema, data, messages=procedure.messages)
        if result.errors:
            return _stage_action_page(request, principal, procedure, action, application_id,
                                      data=data, errors=result.errors, comment=comment,
                                      status=422)
    try:
        await _app(request).cases.act(principal, application_id, action.id, comment or None,
                                      data)
    except InvalidData as exc:
        return _stage_action_page(request, principal, procedure, action, application_id,
                                  data=data, errors=exc.errors, comment=comment, status=422)
    except Refused as exc:
        return _stage_action_page(request, principal, procedure, action, application_id,
                                  data=data, refusal=exc.message, comment=comment,
                                  status=status_of(exc))
    return redirect(f"/my/applications/{application_id}?done=action")


def _posted(form: Any) -> dict:
    """What the step form held before this post (its list lengths), from ``_draft``."""
    with contextlib.suppress(ValueError, TypeError):
        held = json.loads(str(form.get("_draft") or "{}"))
        if isinstance(held, dict):
            return held
    return {}
