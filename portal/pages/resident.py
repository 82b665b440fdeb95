"""The resident's pages: apply (a form generated from the procedure's schema, one part per
page, then check your answers), my applications, correction, withdrawal, documents, inbox.

Moving between the pages of a form changes nothing on the server: the answers so far
travel in a hidden field (``_draft``) and are checked again as a whole when sent. Every
POST that changes a case (submit, correct, withdraw) answers with a redirect (PRG).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forms.catalog import Procedure
from forms.municipalities import Municipality
from forms.validation import FieldError, validate_application
from identity.principals import Resident
from portal.web import i18n, session
from portal.web.render import error_page, page, redirect, render
from portal.web.schemaform import Field, SchemaForm, errors_for
from workflows.cases import CaseError, CaseService, InvalidData

router = APIRouter(include_in_schema=False)

_MAX_DRAFT = 200_000


def _resident(request: Request) -> Resident:
    principal = session.require_principal(request)
    if not isinstance(principal, Resident):
        raise CaseError(
            "resident_only",
            403,
            "このページは住民の方のためのページです。",
            "This page is for residents.",
        )
    return principal


def _cases(request: Request) -> CaseService:
    return request.app.state.portal.cases


def municipalities(cases: CaseService) -> list[Municipality]:
    """The municipalities this installation serves."""
    listed = getattr(cases, "municipalities", None)
    if callable(listed):  # CaseService.municipalities(), once the service offers it
        return list(listed())
    from forms.municipalities import load_municipalities

    result = []
    for code in sorted(load_municipalities()):
        try:
            result.append(cases.municipality(code))
        except CaseError:
            continue
    return result


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
    cases = _cases(request)
    return render(
        request,
        "resident/choose.html",
        principal=principal,
        municipalities=municipalities(cases),
        procedures=[
            {"id": p.id, "title": p.definition.title.model_dump()}
            for p in cases.procedures()
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
    cases = _cases(request)
    codes = {m.code for m in municipalities(cases)}
    ids = {p.id for p in cases.procedures()}
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


class _Wizard:
    """One run through a generated form: a new application or a correction."""

    def __init__(
        self,
        request: Request,
        procedure: Procedure,
        municipality: Municipality,
        action: str,
        submit_action: str,
        correcting: bool,
    ) -> None:
        self.request = request
        self.procedure = procedure
        self.municipality = municipality
        self.form = SchemaForm(
            procedure.form_schema, messages=procedure.messages, municipality=municipality
        )
        self.action = action
        self.submit_action = submit_action
        self.correcting = correcting
        self.page_ids = self.form.page_ids()

    def show(
        self,
        page_id: str,
        draft: dict,
        errors: list[FieldError] | None = None,
        *,
        return_to_check: bool = False,
    ) -> Response:
        page_obj = self.form.page(page_id, draft, errors)
        if errors:  # the summary lists problems in the order of the inputs
            order = {f.pointer: i for i, f in enumerate(page_obj.all_fields())}
            errors = sorted(errors, key=lambda e: order.get(e.path, len(order)))
        return render(
            self.request,
            "resident/form_page.html",
            status=422 if errors else 200,
            page=page_obj,
            draft=draft,
            errors=errors or [],
            action=self.action,
            procedure_title=self.procedure.definition.title.model_dump(),
            page_number=self.page_ids.index(page_id) + 1,
            page_count=len(self.page_ids),
            correcting=self.correcting,
            return_to_check=return_to_check,
            has_arrays=any(f.kind == "array" for f in page_obj.all_fields()),
        )

    def check(self, draft: dict, errors: list[FieldError] | None = None) -> Response:
        return render(
            self.request,
            "resident/check.html",
            status=422 if errors else 200,
            pages=self.form.pages(draft),
            draft=draft,
            errors=errors or [],
            action=self.action,
            submit_action=self.submit_action,
            procedure_title=self.procedure.definition.title.model_dump(),
            correcting=self.correcting,
        )

    def errors(self, data: dict, fields: list[Field]) -> list[FieldError]:
        probe = _scaffold(json.loads(json.dumps(data)), fields)
        result = validate_application(self.procedure, self.municipality, probe)
        return errors_for(result.errors, [f.pointer for f in fields])

    async def navigate(self) -> Response:
        form = await self.request.form()
        draft = _draft(form.get("_draft"))
        page_id = str(form.get("_page") or "")
        nav = str(form.get("_nav") or "next")
        if nav.startswith("goto:") and nav[5:] in self.page_ids:
            return self.show(nav[5:], draft, return_to_check=True)
        if page_id not in self.page_ids:
            return self.show(self.page_ids[0], draft)
        index = self.page_ids.index(page_id)
        fields = self.form.page(page_id, draft).fields
        data = self.form.read(fields, form, draft)
        back_to_check = form.get("_return") == "check"
        if nav.startswith("add:"):
            return self.show(
                page_id, self.form.with_item_added(data, nav[4:]), return_to_check=back_to_check
            )
        if nav.startswith("remove:"):
            pointer, _, position = nav[7:].rpartition(":")
            removed = self.form.with_item_removed(
                data, pointer, int(position or -1) if position.lstrip("-").isdigit() else -1
            )
            return self.show(page_id, removed, return_to_check=back_to_check)
        if nav == "back":
            if back_to_check:
                return self.check(data)
            if index == 0:
                return redirect(self._back_url())
            return self.show(self.page_ids[index - 1], data)
        errors = self.errors(data, fields)
        if errors:
            return self.show(page_id, data, errors, return_to_check=back_to_check)
        if back_to_check or index == len(self.page_ids) - 1:
            return self.check(data)
        return self.show(self.page_ids[index + 1], data)

    def _back_url(self) -> str:
        if self.correcting:
            return self.action.rsplit("/", 1)[0]
        return f"/apply?municipality={self.municipality.code}&procedure={self.procedure.id}"

    async def submitted_data(self) -> tuple[dict, Response | None]:
        """The whole draft, or a page showing its first problem."""
        form = await self.request.form()
        draft = _draft(form.get("_draft"))
        all_fields = self.form.all_fields(draft)
        result = validate_application(
            self.procedure, self.municipality, _scaffold(json.loads(json.dumps(draft)), all_fields)
        )
        if not result.valid:
            return draft, self._first_problem(draft, result.errors)
        return draft, None

    def _first_problem(self, draft: dict, errors: list[FieldError]) -> Response:
        for page_obj in self.form.pages(draft):
            mine = errors_for(errors, [f.pointer for f in page_obj.fields])
            if mine:
                return self.show(page_obj.id, draft, mine, return_to_check=True)
        return self.check(draft, errors)


def _draft(raw: Any) -> dict:
    if not isinstance(raw, str) or len(raw) > _MAX_DRAFT:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _scaffold(data: dict, fields: list[Field]) -> dict:
    """Empty objects for the page's groups, so ``required`` names each missing input
    rather than the whole group."""
    for f in fields:
        if f.kind != "group":
            continue
        segments = [s.replace("~1", "/").replace("~0", "~") for s in f.pointer.split("/")[1:]]
        node: Any = data
        for segment in segments[:-1]:
            node = node.setdefault(segment, {}) if isinstance(node, dict) else None
        if isinstance(node, dict) and not isinstance(node.get(segments[-1]), dict):
            node[segments[-1]] = {}
        _scaffold(data, f.children)
    return data


def _new_wizard(request: Request, municipality_code: str, procedure_id: str) -> _Wizard:
    cases = _cases(request)
    procedure = cases.procedure(procedure_id)
    municipality = cases.municipality(municipality_code)
    base = f"/apply/{municipality.code}/{procedure.id}"
    return _Wizard(request, procedure, municipality, base, base + "/submit", correcting=False)


@router.get("/apply/{municipality_code}/{procedure_id}")
@page
async def form_start(request: Request, municipality_code: str, procedure_id: str) -> Response:
    """The first page of a new application."""
    _resident(request)
    wizard = _new_wizard(request, municipality_code, procedure_id)
    draft: dict = {}
    default = wizard.form.schema.get("properties", {})
    for name, node in default.items():
        if isinstance(node, dict) and "default" in node:
            draft[name] = node["default"]
    return wizard.show(wizard.page_ids[0], draft)


@router.post("/apply/{municipality_code}/{procedure_id}")
@page
async def form_page(request: Request, municipality_code: str, procedure_id: str) -> Response:
    """The next (or previous) page of a new application."""
    _resident(request)
    return await _new_wizard(request, municipality_code, procedure_id).navigate()


@router.post("/apply/{municipality_code}/{procedure_id}/submit")
@page
async def submit(request: Request, municipality_code: str, procedure_id: str) -> Response:
    """Send the application; then show it (POST-redirect-GET)."""
    principal = _resident(request)
    wizard = _new_wizard(request, municipality_code, procedure_id)
    data, problem = await wizard.submitted_data()
    if problem is not None:
        return problem
    try:
        view = await _cases(request).submit(
            principal, procedure_id, municipality_code, data, lang=i18n.request_lang(request)
        )
    except InvalidData as exc:
        errors = [FieldError(**e) for e in exc.details]
        return wizard._first_problem(data, errors)
    return redirect(f"/my/applications/{view.application_id}?filed=1")


# ---- my applications ------------------------------------------------------------------


@router.get("/my")
@page
async def my_applications(request: Request) -> Response:
    """The resident's applications, newest first."""
    principal = _resident(request)
    cases = _cases(request)
    rows = []
    for row in await cases.list_cases(principal):
        title: dict[str, str] = {"ja": row.procedure or "", "en": row.procedure or ""}
        with contextlib.suppress(CaseError):
            title = cases.procedure(row.procedure or "").definition.title.model_dump()
        rows.append(
            {"id": row.id, "title": title, "status": row.status, "started_at": row.started_at}
        )
    return render(request, "resident/list.html", principal=principal, rows=rows)


def timeline_entries(view, procedure: Procedure, lang: str, *, resident: bool) -> list[dict]:
    """The case's timeline as people read it (action titles from the definition)."""
    titles: dict[str, dict[str, str]] = {}
    for stage in procedure.definition.stages:
        for action in stage.actions:
            titles.setdefault(action.id, action.title.model_dump())
    entries = []
    for entry in view.timeline:
        if entry.event in i18n.EVENTS:
            label = i18n.pick(i18n.EVENTS[entry.event], lang)
        else:
            label = i18n.pick(titles.get(entry.event, {"ja": entry.event, "en": entry.event}), lang)
        comment = entry.comment
        if entry.event == "issued":
            comment = None  # the document id, shown under documents instead
        if not resident and entry.actor not in (None, "applicant", "system"):
            label = f"{label}（{entry.actor}）" if lang == "ja" else f"{label} ({entry.actor})"
        entries.append({"at": entry.at, "label": label, "comment": comment})
    return list(reversed(entries))


@router.get("/my/applications/{application_id}")
@page
async def application(
    request: Request, application_id: str, filed: str | None = None, done: str | None = None
) -> Response:
    """One application: status, correction request, documents, timeline, answers."""
    principal = _resident(request)
    cases = _cases(request)
    details = await cases.details(principal, application_id)
    view = details.view
    procedure = cases.procedure(view.procedure, view.procedure_version)
    municipality = cases.municipality(view.municipality)
    lang = i18n.request_lang(request)
    form = SchemaForm(procedure.form_schema, messages=procedure.messages, municipality=municipality)
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
        documents=view.documents,
        fields=form.all_fields(view.data),
        timeline=timeline_entries(view, procedure, lang, resident=True),
        filed=bool(filed),
        done=done if done in ("withdraw", "submit_correction", "action") else None,
    )


async def _correction_wizard(request: Request, application_id: str) -> tuple[_Wizard, Any]:
    principal = _resident(request)
    cases = _cases(request)
    details = await cases.details(principal, application_id)
    if "submit_correction" not in details.actions:
        raise CaseError(
            "no_correction_requested",
            409,
            "補正は求められていません。",
            "No correction has been requested.",
        )
    view = details.view
    procedure = cases.procedure(view.procedure, view.procedure_version)
    base = f"/my/applications/{application_id}/correction"
    wizard = _Wizard(
        request,
        procedure,
        cases.municipality(view.municipality),
        base,
        base + "/submit",
        correcting=True,
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
        await _cases(request).act(
            _resident(request), application_id, "submit_correction", None, data
        )
    except InvalidData as exc:
        return wizard._first_problem(data, [FieldError(**e) for e in exc.details])
    return redirect(f"/my/applications/{application_id}?done=submit_correction")


@router.get("/my/applications/{application_id}/withdraw")
@page
async def withdraw_confirm(request: Request, application_id: str) -> Response:
    """Ask before withdrawing."""
    principal = _resident(request)
    cases = _cases(request)
    details = await cases.details(principal, application_id)
    if "withdraw" not in details.actions:
        return redirect(f"/my/applications/{application_id}")
    procedure = cases.procedure(details.view.procedure, details.view.procedure_version)
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
    await _cases(request).act(principal, application_id, "withdraw", None, None)
    return redirect(f"/my/applications/{application_id}?done=withdraw")


@router.get("/my/documents/{document_id}")
@page
async def document(request: Request, document_id: str) -> Response:
    """Download an issued document (the applicant, or a caseworker of the municipality)."""
    principal = session.require_principal(request)
    context = request.app.state.portal
    doc = context.register.get(document_id)
    if doc is None:
        return error_page(
            request, 404, {"ja": "書類が見つかりません。", "en": "Document not found."}
        )
    await context.cases.details(principal, doc.application_id)  # same visibility rule
    return Response(
        context.blobs.get(doc.blob_key),
        media_type=doc.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.filename)}",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/my/inbox")
@page
async def inbox(request: Request) -> Response:
    """The resident's notices, newest first."""
    principal = _resident(request)
    context = request.app.state.portal
    key = context.cases.applicant_key(principal)
    entries = sorted(
        context.inbox.for_recipient(f"applicant:{key}"), key=lambda e: e.created_at, reverse=True
    )
    return render(
        request,
        "resident/inbox.html",
        principal=principal,
        entries=entries,
        link_base="/my/applications/",
    )


async def _stage_action(request: Request, application_id: str, action_id: str):
    principal = _resident(request)
    cases = _cases(request)
    details = await cases.details(principal, application_id)
    procedure = cases.procedure(details.view.procedure, details.view.procedure_version)
    stage = procedure.definition.stage(details.view.stage)
    action = stage.action(action_id) if stage else None
    if action is None or action_id not in details.actions:
        raise CaseError(
            "not_available", 409, "いまはこの操作はできません。", "This is not possible now."
        )
    return principal, procedure, action


@router.get("/my/applications/{application_id}/act/{action_id}")
@page
async def stage_action_confirm(request: Request, application_id: str, action_id: str) -> Response:
    """An applicant step of the procedure (e.g. ask for a re-survey), with confirmation."""
    principal, procedure, action = await _stage_action(request, application_id, action_id)
    return render(
        request,
        "resident/stage_action.html",
        principal=principal,
        app_id=application_id,
        action=action,
        refusal=None,
        comment="",
        procedure_title=procedure.definition.title.model_dump(),
    )


@router.post("/my/applications/{application_id}/act/{action_id}")
@page
async def stage_action(request: Request, application_id: str, action_id: str) -> Response:
    """Take the applicant step (POST-redirect-GET); show the workflow's refusal if any."""
    principal, procedure, action = await _stage_action(request, application_id, action_id)
    form = await request.form()
    comment = str(form.get("comment") or "").strip()[:4000]
    try:
        await _cases(request).act(principal, application_id, action.id, comment or None, None)
    except CaseError as exc:
        return render(
            request,
            "resident/stage_action.html",
            status=exc.status,
            principal=principal,
            app_id=application_id,
            action=action,
            refusal=exc.message,
            comment=comment,
            procedure_title=procedure.definition.title.model_dump(),
        )
    return redirect(f"/my/applications/{application_id}?done=action")
