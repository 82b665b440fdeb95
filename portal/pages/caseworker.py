"""The caseworker's pages: the queue of their municipalities and the case page.

The actions offered are exactly ``CaseService.details(...).actions`` (the workflow's own
rule), each confirmed on a second page; when the workflow still refuses, its reason is
shown. Action inputs (the survey) are forms generated from the step's JSON Schema.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forms.catalog import Procedure
from forms.definition import ActionDefinition
from forms.validation import FieldError, validate_data
from identity.principals import Caseworker
from portal.pages.resident import timeline_entries
from portal.web import i18n, session
from portal.web.render import page, redirect, render
from portal.web.schemaform import SchemaForm
from workflows.cases import CaseDetails, CaseError, CaseService, InvalidData
from workflows.rules import APPLICANT_ACTIONS

router = APIRouter(include_in_schema=False)

_UNASSIGNED = "-"


def _caseworker(request: Request) -> Caseworker:
    principal = session.require_principal(request)
    if not isinstance(principal, Caseworker):
        raise CaseError(
            "caseworker_only",
            403,
            "このページは職員のためのページです。",
            "This page is for municipal staff.",
        )
    return principal


def _cases(request: Request) -> CaseService:
    return request.app.state.portal.cases


def _stage_titles(cases: CaseService) -> dict[str, dict[str, str]]:
    titles: dict[str, dict[str, str]] = {}
    for procedure in cases.procedures():
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
) -> Response:
    """Open cases of the caseworker's municipalities, with filters and counts per stage."""
    principal = _caseworker(request)
    cases = _cases(request)
    procedures = {p.id: p.definition.title.model_dump() for p in cases.procedures()}
    procedure = procedure if procedure in procedures else None
    wanted = principal.subject if assignee == "me" else None
    rows = await cases.list_cases(principal, procedure=procedure, assignee=wanted, open_only=True)
    if assignee == _UNASSIGNED:
        rows = [r for r in rows if not r.assignee]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.stage or ""] = counts.get(row.stage or "", 0) + 1
    if stage:
        rows = [r for r in rows if r.stage == stage]
    now = datetime.now(UTC)
    stages = _stage_titles(cases)
    return render(
        request,
        "staff/queue.html",
        principal=principal,
        rows=[
            {
                **r.model_dump(),
                "overdue": bool(r.due_at and r.due_at < now),
                "procedure_title": procedures.get(r.procedure or "", {"ja": "", "en": ""}),
                "stage_title": stages.get(
                    r.stage or "", {"ja": r.stage or "", "en": r.stage or ""}
                ),
            }
            for r in rows
        ],
        counts=[
            {"id": s, "title": stages.get(s, {"ja": s, "en": s}), "count": n}
            for s, n in counts.items()
        ],
        procedures=procedures,
        stages={s: t for s, t in stages.items() if s not in i18n.STATUS},
        chosen={"procedure": procedure or "", "stage": stage or "", "assignee": assignee or ""},
        unassigned=_UNASSIGNED,
    )


def _action_definitions(procedure: Procedure, stage_id: str) -> dict[str, ActionDefinition]:
    stage = procedure.definition.stage(stage_id)
    return {a.id: a for a in stage.actions} if stage else {}


def _survey_form(procedure: Procedure, action: ActionDefinition) -> SchemaForm | None:
    if not action.input_schema:
        return None
    return SchemaForm(procedure.step_schemas[action.input_schema], messages=procedure.messages)


def _case_page(
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
) -> Response:
    cases = _cases(request)
    view = details.view
    procedure = cases.procedure(view.procedure, view.procedure_version)
    municipality = cases.municipality(view.municipality)
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
    form = SchemaForm(procedure.form_schema, messages=procedure.messages, municipality=municipality)
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
    stages = _stage_titles(cases)
    done_title = definitions.get(done or "") or next(
        (a for s in procedure.definition.stages for a in s.actions if a.id == done), None
    )
    return render(
        request,
        "staff/case.html",
        status=status,
        principal=principal,
        app=view,
        procedure_title=procedure.definition.title.model_dump(),
        municipality_name=i18n.pick(municipality.name.model_dump(), lang),
        stage_title=stages.get(view.stage, {"ja": view.stage, "en": view.stage}),
        fields=form.all_fields(view.data),
        step_fields=step_fields,
        computed=view.computed,
        timeline=timeline_entries(view, procedure, lang, resident=False),
        simple_actions=simple,
        input_actions=with_input,
        refusal=refusal,
        comment=comment,
        done=done_title.title.model_dump() if done_title else None,
        all_errors=[e for errs in (input_errors or {}).values() for e in errs],
        overdue=bool(view.due_at and view.due_at < datetime.now(UTC)),
    )


@router.get("/staff/cases/{application_id}")
@page
async def case(request: Request, application_id: str, done: str | None = None) -> Response:
    """A case: the application, its history and the actions the workflow allows now."""
    principal = _caseworker(request)
    details = await _cases(request).details(principal, application_id)
    return _case_page(request, principal, details, done=done)


async def _posted_action(
    request: Request, principal: Caseworker, application_id: str
) -> tuple[CaseDetails, ActionDefinition | None, str, dict | None, list[FieldError]]:
    """The action, comment and input data a case form posted, with input errors."""
    form = await request.form()
    cases = _cases(request)
    details = await cases.details(principal, application_id)
    view = details.view
    procedure = cases.procedure(view.procedure, view.procedure_version)
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


@router.post("/staff/cases/{application_id}/confirm")
@page
async def confirm(request: Request, application_id: str) -> Response:
    """Confirm an action before it is taken."""
    principal = _caseworker(request)
    details, action, comment, data, errors = await _posted_action(
        request, principal, application_id
    )
    if action is None:
        return _case_page(request, principal, details, status=409, refusal=_not_now())
    if errors:
        return _case_page(
            request,
            principal,
            details,
            status=422,
            input_errors={action.id: errors},
            input_values={action.id: data or {}},
            comment=comment,
        )
    cases = _cases(request)
    procedure = cases.procedure(details.view.procedure, details.view.procedure_version)
    survey = _survey_form(procedure, action)
    return render(
        request,
        "staff/confirm.html",
        principal=principal,
        app=details.view,
        action=action,
        comment=comment,
        data=data,
        fields=survey.all_fields(data) if survey and data is not None else [],
    )


@router.post("/staff/cases/{application_id}/act")
@page
async def act(request: Request, application_id: str) -> Response:
    """Take the confirmed action (POST-redirect-GET); show the workflow's refusal if any."""
    principal = _caseworker(request)
    details, action, comment, data, errors = await _posted_action(
        request, principal, application_id
    )
    if action is None:
        return _case_page(request, principal, details, status=409, refusal=_not_now())
    if errors:
        return _case_page(
            request,
            principal,
            details,
            status=422,
            input_errors={action.id: errors},
            input_values={action.id: data or {}},
            comment=comment,
        )
    try:
        await _cases(request).act(principal, application_id, action.id, comment or None, data)
    except InvalidData as exc:
        errors = [FieldError(**e) for e in exc.details]
        return _case_page(
            request,
            principal,
            details,
            status=422,
            input_errors={action.id: errors},
            input_values={action.id: data or {}},
            comment=comment,
        )
    except CaseError as exc:
        fresh = await _cases(request).details(principal, application_id)
        return _case_page(
            request, principal, fresh, status=exc.status, refusal=exc.message, comment=comment
        )
    return redirect(f"/staff/cases/{application_id}?done={action.id}")


@router.get("/staff/inbox")
@page
async def inbox(request: Request) -> Response:
    """Notices for the caseworker's municipalities (deadline reminders, escalations)."""
    principal = _caseworker(request)
    context = request.app.state.portal
    entries: list[Any] = [
        e
        for code in sorted(principal.municipalities)
        for e in context.inbox.for_recipient(f"municipality:{code}")
    ]
    entries.sort(key=lambda e: e.created_at, reverse=True)
    return render(
        request,
        "resident/inbox.html",
        principal=principal,
        entries=entries,
        link_base="/staff/cases/",
    )


def _not_now() -> dict[str, str]:
    return {
        "ja": "この段階ではその操作はできません。",
        "en": "That action is not possible at this stage.",
    }
