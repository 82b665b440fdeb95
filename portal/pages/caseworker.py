"""The caseworker's pages: the queue of their municipalities, the case page, revoking an
issued document, and the dashboard.

The actions offered are exactly ``CaseService.details(...).actions`` (the workflow's own
rule), each confirmed on a second page; when the workflow still refuses, its reason is
shown. Action inputs (the survey) are forms generated from the step's JSON Schema.
Revocation is the API's use case (``services.documents``). The dashboard is built from the
visibility rows (search attributes): no personal data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forms.definition import ActionDefinition
from forms.packages import Procedure
from forms.schemaform import SchemaForm
from forms.validation import FieldError, validate_data
from identity.principals import Caseworker
from portal.deps import application_of
from portal.links import verify_link
from portal.statuses import status_of
from portal.web import charts, i18n, session
from portal.web.bundles import bundle_beside
from portal.web.cases import (
    changes_view,
    computed_rows,
    contact_view,
    field_value,
    proxy_view,
    timeline_entries,
)
from portal.web.dashboard_work import dashboard_work
from portal.web.render import page, redirect, render
from services.application import Application
from services.cases import CaseDetails
from services.catalogue import CatalogueService
from services.departments import departments_for
from services.previews import case_history, preview_action
from services.refusals import InvalidData, Refused
from workflows.references import normalize_reference, spoken_reference
from workflows.rules import APPLICANT_ACTIONS

router = APIRouter(include_in_schema=False)

_UNASSIGNED = "-"
_DUE_FILTERS = ("overdue", "week", "none")


def _caseworker(request: Request) -> Caseworker:
    principal = session.require_principal(request)
    if not isinstance(principal, Caseworker):
        raise Refused(
            "forbidden",
            "caseworker_only",
            "このページは職員のためのページです。",
            "This page is for municipal staff.",
        )
    return principal


def _app(request: Request) -> Application:
    return application_of(request)


def _stage_titles(catalogue: CatalogueService) -> dict[str, dict[str, str]]:
    titles: dict[str, dict[str, str]] = {}
    for procedure in catalogue.all_versions():  # open cases may be under an older version
        for stage in procedure.definition.stages:
            titles.setdefault(stage.id, stage.title.model_dump())
    for status, pair in i18n.STATUS.items():
        titles.setdefault(status, {"ja": pair[0], "en": pair[1]})
    return titles


@router.get("/staff")
@page
async def queue(
    request: Request,
    procedure: str | None = None,
    stage: str | None = None,
    assignee: str | None = None,
    due: str | None = None,
    status: str | None = None,
    q: str | None = None,
    department: str | None = None,
) -> Response:
    """Open cases of the caseworker's municipalities, with filters and counts per stage;
    a case found by its id or its phone reference."""
    principal = _caseworker(request)
    app = _app(request)
    lang = i18n.request_lang(request)
    procedures = {p.id: p.definition.title.model_dump() for p in app.catalogue.latest()}
    procedure = procedure if procedure in procedures else None
    departments = {d.id: d.title.model_dump() for code in sorted(principal.municipalities)
                   if code in {m.code for m in app.catalogue.municipalities()}
                   for d in departments_for(principal, app.catalogue, code)}
    department = department if department in departments else None
    wanted = principal.subject if assignee == "me" else None
    status = status if status in _STATUS_FILTERS else None
    query = (q or "").strip()[:64]
    searching = bool(query)
    # 「未処理の案件」 are the municipality's work; a search looks through every case.
    rows = await app.cases.list_cases(principal, procedure=procedure, assignee=wanted,
                                      open_only=not (searching or status), limit=1000
                                      if searching or status else 200, department=department)
    if searching:
        reference = normalize_reference(query)
        rows = [r for r in rows if r.id == query
                or (reference is not None and spoken_reference(r.id) == reference)]
    elif status == "waiting":
        rows = [r for r in rows if r.status in _WAITING]
    if assignee == _UNASSIGNED:
        rows = [r for r in rows if not r.assignee]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.stage or ""] = counts.get(row.stage or "", 0) + 1
    if stage:
        rows = [r for r in rows if r.stage == stage]
    now = datetime.now(UTC)
    due = due if due in _DUE_FILTERS else None
    if due == "overdue":
        rows = [r for r in rows if r.due_at and r.due_at < now]
    elif due == "week":
        rows = [r for r in rows if r.due_at and now <= r.due_at < now + timedelta(days=7)]
    elif due == "none":
        rows = [r for r in rows if not r.due_at]
    if due:  # what is due first comes first
        far = datetime.max.replace(tzinfo=UTC)
        rows = sorted(rows, key=lambda r: r.due_at or far)
    stages = _stage_titles(app.catalogue)
    names = _municipality_names(app, principal.municipalities, lang)
    return render(
        request,
        "staff/queue.html",
        principal=principal,
        rows=[
            {
                **r.model_dump(),
                "reference": spoken_reference(r.id),
                "overdue": bool(r.due_at and r.due_at < now),
                "procedure_title": procedures.get(r.procedure or "", {"ja": "", "en": ""}),
                "stage_title": stages.get(
                    r.stage or "", {"ja": r.stage or "", "en": r.stage or ""}
                ),
                "assignee_name": _assignee_name(principal, r.assignee),
                "municipality_name": names.get(r.municipality or "", r.municipality or ""),
            }
            for r in rows
        ],
        counts=[
            {"id": s, "title": stages.get(s, {"ja": s, "en": s}), "count": n}
            for s, n in counts.items()
        ],
        procedures=procedures,
        departments=departments,
        stages={s: t for s, t in stages.items() if s not in i18n.STATUS},
        chosen={
            "procedure": procedure or "",
            "department": department or "",
            "stage": stage or "",
            "assignee": assignee or "",
            "due": due or "",
            "status": status or "",
            "q": query,
        },
        caption=("queue.caption.found" if searching else
                 "queue.caption.waiting" if status == "waiting" else "queue.caption"),
        municipality_names=[names[c] for c in sorted(names)],
        unassigned=_UNASSIGNED,
        overdue_count=sum(1 for r in rows if r.due_at and r.due_at < now),
        staff_status=_staff_status(lang),
    )


_STATUS_FILTERS = ("waiting",)
_WAITING = ("awaiting_applicant",)


def _municipality_names(app: Application, codes: Any, lang: str) -> dict[str, str]:
    names = {}
    for code in codes:
        try:
            names[code] = i18n.pick(app.catalogue.municipality(code).name.model_dump(), lang)
        except Refused:  # a code the installation no longer serves: the code itself
            names[code] = code
    return names


def _assignee_name(principal: Caseworker, subject: str | None,
                   names: dict[str, str] | None = None) -> str | None:
    """A caseworker by name: the signed-in one, or one the case's history names."""
    if not subject:
        return None
    if subject == principal.subject and principal.name:
        return principal.name
    return (names or {}).get(subject, subject)


def _staff_status(lang: str):
    """Statuses in staff's words (a case waits for *the applicant*, not for "you")."""
    def label(status: str) -> str:
        key = f"status.staff.{status}"
        if key in i18n.STRINGS:
            return i18n.text(key, lang)
        return i18n.pick(i18n.STATUS.get(status, (status, status)), lang)
    return label


def _action_definitions(procedure: Procedure, stage_id: str) -> dict[str, ActionDefinition]:
    stage = procedure.definition.stage(stage_id)
    return {a.id: a for a in stage.actions} if stage else {}


def _survey_form(procedure: Procedure, action: ActionDefinition) -> SchemaForm | None:
    if not action.input_schema:
        return None
    return SchemaForm(procedure.step_schemas[action.input_schema], messages=procedure.messages)


async def _case_page(
    request: Request,
    principal: Caseworker,
    details: CaseDetails,
    *,
    status: int = 200,
    refusal: dict[str, str] | None = None,
    input_errors: dict[str, list[FieldError]] | None = None,
    input_values: dict[str, dict] | None = None,
    comment: str = "",
    done: str | None = None,
    revoked: str | None = None,
) -> Response:
    app = _app(request)
    view = details.view
    procedure = app.cases.pinned(view)
    municipality = app.catalogue.municipality(view.municipality)
    lang = i18n.request_lang(request)
    definitions = _action_definitions(procedure, view.stage)
    simple, with_input = [], []
    for action_id in details.actions:
        if action_id in APPLICANT_ACTIONS or action_id not in definitions:
            continue
        action = definitions[action_id]
        survey = _survey_form(procedure, action)
        if survey is None:
            simple.append(action)
            continue
        errors = (input_errors or {}).get(action_id, [])
        values = (input_values or {}).get(action_id, {})
        with_input.append(
            {
                "action": action,
                "fields": survey.all_fields(values, errors),
                "errors": errors,
                "title": survey.title(),
            }
        )
    form = SchemaForm(
        procedure.form_schema,
        messages=procedure.messages,
        municipality=municipality,
        attachments=app.attachments.lookup,
        owner=view.applicant_key,
    )
    fields = form.all_fields(view.data)
    history = await case_history(app.cases, view)
    files = [
        {**file, "url": f"/staff/cases/{view.application_id}/attachments/{file['id']}"}
        for f in fields
        for leaf in f.walk()
        if leaf.kind == "files"
        for file in leaf.files
    ]
    documents = []
    may_revoke = (procedure.definition.revocation.role in principal.roles
                  and principal.can_act_for(view.municipality))
    for ref in view.documents:
        # A filing receipt (申請控え) records what the resident sent; it is replaced by a
        # correction, never revoked from the page.
        valid = (app.documents.status(ref.id) == "valid"
                 and ref.type not in procedure.definition.issue_on_submit)
        pending = next((r for r in view.revocations
                        if r.document_id == ref.id and r.confirmed_by is None), None)
        documents.append({
            "id": ref.id, "title": ref.title, "status": app.documents.status(ref.id),
            "pending": pending,
            "revocable": may_revoke and valid and pending is None,
            # Four eyes: the one who asked cannot confirm.
            "confirmable": may_revoke and valid and pending is not None
            and pending.requested_by != principal.subject,
        })
    step_fields = []
    for action_id, data in view.step_data.items():
        action = next(
            (a for s in procedure.definition.stages for a in s.actions if a.id == action_id), None
        )
        survey = _survey_form(procedure, action) if action else None
        if survey is not None:
            step_fields.append(
                {"title": action.title.model_dump(), "fields": survey.all_fields(data)}
            )
    stages = _stage_titles(app.catalogue)
    done_title = definitions.get(done or "") or next(
        (a for s in procedure.definition.stages for a in s.actions if a.id == done), None
    )
    return render(
        request,
        "staff/case.html",
        status=status,
        principal=principal,
        app=view,
        reference=spoken_reference(view.application_id),
        procedure_title=procedure.definition.title.model_dump(),
        municipality_name=i18n.pick(municipality.name.model_dump(), lang),
        assignee_name=_assignee_name(principal, view.assignee, history.names),
        contact=contact_view(municipality, procedure, lang),
        period_days=procedure.definition.processing_period.days,
        changes=(changes_view(form, history.changes, lang)
                 if history.changes is not None else None),
        show_value=lambda f: field_value(f, lang),
        staff_status=_staff_status(lang),
        stage_title=stages.get(view.stage, {"ja": view.stage, "en": view.stage}),
        fields=fields,
        files=files,
        documents=documents,
        revoked=revoked,
        proxy_view=proxy_view(view.proxy, lang),
        step_fields=step_fields,
        computed=computed_rows(procedure, view.computed, view.step_data, lang),
        timeline=timeline_entries(view, procedure, lang, resident=False,
                                  names=history.names),
        simple_actions=simple,
        input_actions=with_input,
        refusal=refusal,
        comment=comment,
        done=done_title.title.model_dump() if done_title else None,
        all_errors=[e for errs in (input_errors or {}).values() for e in errs],
        overdue=bool(view.due_at and view.due_at < datetime.now(UTC)),
        bundle=await bundle_beside(app, principal, view, lang),  # (#18)
    )


@router.get("/staff/cases/{application_id}")
@page
async def case(
    request: Request, application_id: str, done: str | None = None, revoked: str | None = None
) -> Response:
    """A case: the application, its history and the actions the workflow allows now."""
    principal = _caseworker(request)
    details = await _app(request).cases.details(principal, application_id)
    return await _case_page(request, principal, details, done=done,
                      revoked=revoked if revoked in ("requested", "confirmed") else None)


@router.get("/staff/cases/{application_id}/attachments/{attachment_id}")
@page
async def attachment(request: Request, application_id: str, attachment_id: str) -> Response:
    """A file the applicant attached to the case (caseworkers of its municipality)."""
    principal = _caseworker(request)
    app = _app(request)
    details = await app.cases.details(principal, application_id)
    found, content = app.attachments.of_case(details.view, attachment_id)
    return Response(
        content,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _revocable(request: Request, application_id: str, document_id: str):
    principal = _caseworker(request)
    details = await _app(request).cases.details(principal, application_id)
    if document_id not in {d.id for d in details.view.documents}:
        raise Refused("not_found", "not_found", "書類が見つかりません。", "Document not found.")
    ref = next(d for d in details.view.documents if d.id == document_id)
    return principal, details, ref


@router.get("/staff/cases/{application_id}/documents/{document_id}/revoke")
@page
async def revoke_confirm(request: Request, application_id: str, document_id: str) -> Response:
    """Ask for the reason, and confirm, before revoking an issued document."""
    principal, details, ref = await _revocable(request, application_id, document_id)
    return _revoke_page(request, principal, details, ref)


def _revoke_page(
    request: Request,
    principal: Caseworker,
    details: CaseDetails,
    ref: Any,
    *,
    status: int = 200,
    reason: str = "",
    error: dict[str, str] | None = None,
    refusal: dict[str, str] | None = None,
    confirming: Any = None,
) -> Response:
    return render(
        request,
        "staff/revoke.html",
        status=status,
        principal=principal,
        app=details.view,
        reference=spoken_reference(details.view.application_id),
        document=ref,
        reason=reason,
        error=error,
        refusal=refusal,
        confirming=confirming,
    )


@router.post("/staff/cases/{application_id}/documents/{document_id}/revoke")
@page
async def revoke(request: Request, application_id: str, document_id: str) -> Response:
    """Revoke the document with the API's use case (POST-redirect-GET)."""
    principal, details, ref = await _revocable(request, application_id, document_id)
    form = await request.form()
    reason = str(form.get("reason") or "").strip()
    try:
        await _app(request).documents.revoke(principal, document_id, reason,
                                             verify_link(request))
    except Refused as exc:
        # The reason's own problems beside its input; any other refusal above the form.
        mine = exc.code in ("reason_required", "reason_too_long")
        return _revoke_page(
            request,
            principal,
            details,
            ref,
            status=status_of(exc),
            reason=reason,
            error=exc.message if mine else None,
            refusal=None if mine else exc.message,
        )
    return redirect(f"/staff/cases/{application_id}?revoked=requested")


@router.get("/staff/cases/{application_id}/documents/{document_id}/revoke/confirm")
@page
async def revocation_check(request: Request, application_id: str, document_id: str) -> Response:
    """A second caseworker reads the reason given, before confirming the revocation."""
    principal, details, ref = await _revocable(request, application_id, document_id)
    return _revoke_page(request, principal, details, ref, confirming=_pending(details, ref.id))


@router.post("/staff/cases/{application_id}/documents/{document_id}/revoke/confirm")
@page
async def revocation_confirm(request: Request, application_id: str, document_id: str) -> Response:
    """Confirm another caseworker's revocation (four eyes; POST-redirect-GET)."""
    principal, details, ref = await _revocable(request, application_id, document_id)
    try:
        await _app(request).documents.confirm_revocation(principal, document_id,
                                                         verify_link(request))
    except Refused as exc:
        return _revoke_page(request, principal, details, ref, status=status_of(exc),
                            refusal=exc.message, confirming=_pending(details, ref.id))
    return redirect(f"/staff/cases/{application_id}?revoked=confirmed")


def _pending(details: CaseDetails, document_id: str) -> Any:
    return next((r for r in details.view.revocations
                 if r.document_id == document_id and r.confirmed_by is None), None)


@router.get("/staff/dashboard")
@page
async def dashboard(request: Request) -> Response:
    """Applications per day and per stage, processing time against the legal period."""
    principal = _caseworker(request)
    app = _app(request)
    lang = i18n.request_lang(request)
    rows = await app.cases.list_cases(principal, limit=5000)
    periods = {p.id: p.definition.processing_period.days for p in app.catalogue.latest()}
    stats = charts.case_statistics(rows, periods, now=datetime.now(UTC))
    stages = _stage_titles(app.catalogue)
    per_stage = [
        (i18n.pick(stages.get(s, {"ja": s, "en": s}), lang), n) for s, n in stats.per_stage
    ]
    per_day = [(i18n.when(day_start, lang, date_only=True), n) for day_start, n in stats.per_day]
    bands = [i18n.text(f"dash.band.{i}", lang) for i in range(4)]
    names = _municipality_names(app, principal.municipalities, lang)
    return render(
        request,
        "staff/dashboard.html",
        principal=principal,
        municipality_names=[names[c] for c in sorted(names)],
        **dashboard_work(request, principal, rows, stages, lang, now=datetime.now(UTC)),
        stats=stats,
        per_day=per_day,
        per_stage=per_stage,
        bands=bands,
        day_chart=charts.bar_chart(per_day, label=i18n.text("dash.per_day", lang)),
        stage_chart=charts.bar_chart(
            per_stage, label=i18n.text("dash.per_stage", lang), horizontal=True
        ),
        band_chart=charts.band_chart(
            [
                (i18n.text("dash.open", lang), stats.open_bands),
                (i18n.text("dash.closed", lang), stats.closed_bands),
            ],
            bands,
            label=i18n.text("dash.processing", lang),
        ),
    )


async def _posted_action(
    request: Request, principal: Caseworker, application_id: str
) -> tuple[CaseDetails, ActionDefinition | None, str, dict | None, list[FieldError]]:
    """The action, comment and input data a case form posted, with input errors."""
    form = await request.form()
    cases = _app(request).cases
    details = await cases.details(principal, application_id)
    view = details.view
    procedure = cases.pinned(view)
    action = _action_definitions(procedure, view.stage).get(str(form.get("action") or ""))
    comment = str(form.get("comment") or "").strip()[:4000]
    if action is None:
        return details, None, comment, None, []
    survey = _survey_form(procedure, action)
    if survey is None:
        return details, action, comment, None, []
    if "_data" in form:
        try:
            data = json.loads(str(form["_data"]))
        except ValueError:
            data = {}
    else:
        data = survey.read(survey.all_fields({}), form, {})
    result = validate_data(survey.schema, data, messages=procedure.messages)
    return details, action, comment, data, result.errors


async def _acceptable_action(
    request: Request, principal: Caseworker, application_id: str
) -> tuple[CaseDetails, ActionDefinition, str, dict | None] | Response:
    """The posted action with its comment and input, or the case page saying why it cannot
    be taken now (409) or what its input lacks (422): confirming and acting check alike."""
    details, action, comment, data, errors = await _posted_action(
        request, principal, application_id
    )
    if action is None:
        return await _case_page(request, principal, details, status=409, refusal=_not_now())
    if errors:
        return await _case_page(
            request,
            principal,
            details,
            status=422,
            input_errors={action.id: errors},
            input_values={action.id: data or {}},
            comment=comment,
        )
    return details, action, comment, data


@router.post("/staff/cases/{application_id}/confirm")
@page
async def confirm(request: Request, application_id: str) -> Response:
    """Confirm an action before it is taken."""
    principal = _caseworker(request)
    posted = await _acceptable_action(request, principal, application_id)
    if isinstance(posted, Response):
        return posted
    details, action, comment, data = posted
    procedure = _app(request).cases.pinned(details.view)
    survey = _survey_form(procedure, action)
    lang = i18n.request_lang(request)
    view = details.view
    # What the action will compute, before the caseworker confirms: the workflow's own
    # computation on the case as it is and the entered input (nothing is recorded).
    try:
        preview = preview_action(procedure, view, action, data, now=datetime.now(UTC))
    except Refused as exc:
        return await _case_page(request, principal, details, status=status_of(exc),
                                refusal=exc.message, comment=comment)
    steps = {**view.step_data, action.id: dict(data or {})} if data is not None \
        else view.step_data
    return render(
        request,
        "staff/confirm.html",
        principal=principal,
        app=view,
        reference=spoken_reference(view.application_id),
        action=action,
        comment=comment,
        data=data,
        fields=survey.all_fields(data) if survey and data is not None else [],
        preview=computed_rows(procedure, preview, steps, lang),
        show_value=lambda f: field_value(f, lang),
    )


@router.post("/staff/cases/{application_id}/act")
@page
async def act(request: Request, application_id: str) -> Response:
    """Take the confirmed action (POST-redirect-GET); show the workflow's refusal if any."""
    principal = _caseworker(request)
    posted = await _acceptable_action(request, principal, application_id)
    if isinstance(posted, Response):
        return posted
    details, action, comment, data = posted
    cases = _app(request).cases
    try:
        await cases.act(principal, application_id, action.id, comment or None, data)
    except InvalidData as exc:
        return await _case_page(
            request,
            principal,
            details,
            status=422,
            input_errors={action.id: exc.errors},
            input_values={action.id: data or {}},
            comment=comment,
        )
    except Refused as exc:
        fresh = await cases.details(principal, application_id)
        return await _case_page(
            request, principal, fresh, status=status_of(exc), refusal=exc.message,
            comment=comment
        )
    return redirect(f"/staff/cases/{application_id}?done={action.id}")


@router.get("/staff/inbox")
@page
async def inbox(request: Request) -> Response:
    """Notices for the caseworker's municipalities (deadline reminders, escalations)."""
    principal = _caseworker(request)
    entries = _app(request).notices.inbox(principal)
    return render(
        request,
        "resident/inbox.html",
        principal=principal,
        entries=entries,
        link_base="/staff/cases/",
        reference=spoken_reference,
    )


def _not_now() -> dict[str, str]:
    return {
        "ja": "この段階ではその操作はできません。",
        "en": "That action is not possible at this stage.",
    }
