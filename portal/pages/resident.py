"""The resident's pages: apply (whom for, then a form generated from the procedure's
schema, one part per page, then check your answers), my applications, drafts, correction,
withdrawal, documents, inbox.

Moving between the pages of a form changes nothing on the server: the answers so far
travel in hidden fields (``_draft``; ``_proxy`` for a proxy filing; ``_draft_id`` and
``_draft_rev`` once saved) and are checked again as a whole when sent. Two things do
touch the server on the way: a chosen file is stored at once (the attachments API's own
upload code), and 「一時保存」 saves the answers as a draft (``DraftStore``) that can be
resumed on any device. Every POST that changes a case (submit, correct, withdraw) answers
with a redirect (PRG).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from forms.filing import validate_application
from forms.municipalities import Municipality
from forms.packages import Procedure
from forms.schemaform import Field, SchemaForm, errors_for
from forms.validation import FieldError
from identity.principals import Resident
from identity.proxy import RELATIONSHIP_LABELS, ProxyFilingInvalid, parse_proxy_filing
from portal.api.routes import attachments as attachments_api
from portal.web import i18n, session
from portal.web.render import error_page, page, redirect, render
from records.drafts import DraftConflict
from workflows.cases import CaseError, CaseService, InvalidData

router = APIRouter(include_in_schema=False)

_MAX_DRAFT = 200_000
_WHO = "_who"  # the first page of a new application: for oneself, or as a proxy
_DRAFT_ID = re.compile(r"^drf-[0-9a-f]{26}$")
_PROXY_KEYS = ("name", "name_kana", "birthdate", "relationship", "relationship_detail")


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
        principal: Resident,
    ) -> None:
        self.request = request
        self.context = request.app.state.portal
        self.principal = principal
        self.owner = self.context.cases.applicant_key(principal)
        self.procedure = procedure
        self.municipality = municipality
        self.form = SchemaForm(
            procedure.form_schema,
            messages=procedure.messages,
            municipality=municipality,
            attachments=self.context.attachments,
            owner=self.owner,
        )
        self.action = action
        self.submit_action = submit_action
        self.correcting = correcting
        self.page_ids = ([] if correcting else [_WHO]) + self.form.page_ids()
        # State carried from page to page in hidden fields.
        self.who = ""  # "", "self" or "proxy"
        self.proxy: dict | None = None
        self.draft_id: str | None = None
        self.draft_rev: int | None = None
        self.notice: str | None = None  # "saved" | "conflict" | "no_drafts"

    # ---- hidden state -----------------------------------------------------------------

    def load_state(self, form: Any) -> None:
        who = str(form.get("_who") or "")
        self.who = who if who in ("self", "proxy") else ""
        proxy = _draft(form.get("_proxy"))
        if self.who == "proxy" and proxy:
            try:  # checked again, as it came back from the browser
                self.proxy = parse_proxy_filing(proxy).model_dump(mode="json")
            except ProxyFilingInvalid:
                self.proxy, self.who = None, ""
        draft_id = str(form.get("_draft_id") or "")
        self.draft_id = draft_id if _DRAFT_ID.match(draft_id) else None
        rev = str(form.get("_draft_rev") or "")
        self.draft_rev = int(rev) if rev.isdigit() else None

    def state(self) -> dict:
        return {
            "who": self.who,
            "proxy": self.proxy,
            "draft_id": self.draft_id,
            "draft_rev": self.draft_rev,
            "can_save": not self.correcting,
        }

    def _common(self) -> dict:
        return {
            "state": self.state(),
            "notice": self.notice,
            "action": self.action,
            "procedure_title": self.procedure.definition.title.model_dump(),
            "correcting": self.correcting,
            "proxy_view": proxy_view(self.proxy, i18n.request_lang(self.request)),
        }

    # ---- pages --------------------------------------------------------------------------

    def show(
        self,
        page_id: str,
        draft: dict,
        errors: list[FieldError] | None = None,
        *,
        return_to_check: bool = False,
        who_values: dict | None = None,
    ) -> Response:
        status = 422 if errors else 409 if self.notice == "conflict" else 200
        if page_id == _WHO:
            values = who_values or {
                "for": self.who,
                **{k: (self.proxy or {}).get(k) or "" for k in _PROXY_KEYS},
            }
            return render(
                self.request,
                "resident/who.html",
                status=status,
                principal=self.principal,
                draft=draft,
                errors=errors or [],
                page_number=1,
                page_count=len(self.page_ids),
                return_to_check=return_to_check,
                values=values,
                relationships=RELATIONSHIP_LABELS,
                errors_at={e.path: e for e in errors or []},
                **self._common(),
            )
        page_obj = self.form.page(page_id, draft, errors)
        if errors:  # the summary lists problems in the order of the inputs
            order = {f.pointer: i for i, f in enumerate(page_obj.all_fields())}
            errors = sorted(errors, key=lambda e: order.get(e.path, len(order)))
        all_fields = page_obj.all_fields()
        has_files = any(f.kind == "files" for f in all_fields)
        return render(
            self.request,
            "resident/form_page.html",
            status=status,
            principal=self.principal,
            page=page_obj,
            draft=draft,
            errors=errors or [],
            page_number=self.page_ids.index(page_id) + 1,
            page_count=len(self.page_ids),
            return_to_check=return_to_check,
            has_arrays=any(f.kind in ("array", "files") for f in all_fields),
            has_files=has_files,
            **self._common(),
        )

    def check(self, draft: dict, errors: list[FieldError] | None = None) -> Response:
        return render(
            self.request,
            "resident/check.html",
            status=422 if errors else 409 if self.notice == "conflict" else 200,
            principal=self.principal,
            pages=self.form.pages(draft),
            draft=draft,
            errors=errors or [],
            submit_action=self.submit_action,
            has_who=not self.correcting,
            **self._common(),
        )

    def errors(self, data: dict, fields: list[Field]) -> list[FieldError]:
        probe = _scaffold(json.loads(json.dumps(data)), fields)
        result = validate_application(
            self.procedure,
            self.municipality,
            probe,
            attachments=self.context.attachments,
            owner=self.owner,
        )
        return errors_for(result.errors, [f.pointer for f in fields])

    async def navigate(self) -> Response:
        form = await self.request.form()
        draft = _draft(form.get("_draft"))
        self.load_state(form)
        page_id = str(form.get("_page") or "")
        nav = str(form.get("_nav") or "next")
        back_to_check = form.get("_return") == "check"
        if nav.startswith("goto:") and nav[5:] in self.page_ids:
            return self.show(nav[5:], draft, return_to_check=True)
        if page_id == "_check" and nav == "save":
            return self._save(None, draft, False)
        if page_id not in self.page_ids:
            return self.show(self.page_ids[0], draft)
        index = self.page_ids.index(page_id)
        if page_id == _WHO:
            return self._who(form, draft, nav, back_to_check)
        fields = self.form.page(page_id, draft).fields
        data = self.form.read(fields, form, draft)
        data, upload_errors = await self._uploads(fields, form, data)
        if nav == "save":
            return self._save(page_id, data, back_to_check, upload_errors)
        if upload_errors or nav.startswith("upload:"):
            return self.show(page_id, data, upload_errors, return_to_check=back_to_check)
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

    def _who(self, form: Any, draft: dict, nav: str, back_to_check: bool) -> Response:
        """The first page: for oneself, or for a family member (代理申請) and whom."""
        values = {"for": str(form.get("for") or "")}
        values.update({k: str(form.get(f"proxy_{k}") or "").strip() for k in _PROXY_KEYS})
        if nav == "back":
            return self.check(draft) if back_to_check else redirect(self._back_url())
        errors: list[FieldError] = []
        if values["for"] == "self":
            self.who, self.proxy = "self", None
        elif values["for"] == "proxy":
            payload = {k: values[k] for k in _PROXY_KEYS if values[k]}
            if payload.get("relationship") != "other":
                payload.pop("relationship_detail", None)
            try:
                self.proxy = parse_proxy_filing(payload).model_dump(mode="json")
                self.who = "proxy"
            except ProxyFilingInvalid as exc:
                errors = _proxy_errors(payload, exc)
        elif nav != "save":
            errors = [
                FieldError(
                    path="/for",
                    code="required",
                    message={
                        "ja": "誰のための申請かを選んでください",
                        "en": "Choose whom the application is for",
                    },
                )
            ]
        if nav == "save":
            return self._save(_WHO, draft, back_to_check, errors, who_values=values)
        if errors:
            return self.show(_WHO, draft, errors, return_to_check=back_to_check, who_values=values)
        if back_to_check:
            return self.check(draft)
        return self.show(self.page_ids[1], draft)

    async def _uploads(
        self, fields: list[Field], form: Any, data: dict
    ) -> tuple[dict, list[FieldError]]:
        """Store the files chosen on this page; their ids join the field's value."""
        errors: list[FieldError] = []
        for f in (f for top in fields for f in top.walk() if f.kind == "files"):
            upload = form.get("_file" + f.pointer)
            if not isinstance(upload, UploadFile) or not upload.filename:
                continue
            rule = f.attachment or {}
            current = data_ids(data, f.pointer)
            if len(current) >= rule.get("max_count", 1):
                errors.append(
                    _file_error(
                        f.pointer,
                        "attachment_count",
                        {
                            "ja": f"添付できるのは{rule.get('max_count', 1)}件までです。",
                            "en": f"You can attach up to {rule.get('max_count', 1)} files.",
                        },
                    )
                )
                continue
            stored = await store_upload(self, f.pointer, upload, int(rule.get("max_bytes", 0)))
            if isinstance(stored, FieldError):
                errors.append(stored)
                continue
            ids = [*current, stored]
            multiple = rule.get("max_count", 1) > 1 or isinstance(_value_at(data, f.pointer), list)
            data = json.loads(json.dumps(data))
            _set_at(data, f.pointer, ids if multiple else stored)
        return data, errors

    def _save(
        self,
        page_id: str | None,
        data: dict,
        back_to_check: bool,
        errors: list[FieldError] | None = None,
        who_values: dict | None = None,
    ) -> Response:
        """「一時保存」: keep the answers so far as a draft, then show the same page."""
        store = self.context.drafts
        if store is None:
            self.notice = "no_drafts"
        else:
            try:
                saved = None
                if self.draft_id:
                    saved = store.save(self.owner, self.draft_id, data, self.draft_rev)
                if saved is None:  # new, or discarded meanwhile on another device
                    saved = store.create(
                        self.owner, self.procedure.id, self.municipality.code, data
                    )
                self.draft_id, self.draft_rev = saved.id, saved.revision
                self.notice = "saved"
            except DraftConflict as exc:
                # Saved on another device since: say so; saving again overwrites it.
                self.draft_rev = exc.current
                self.notice = "conflict"
        if page_id is None:
            return self.check(data)
        return self.show(
            page_id, data, errors, return_to_check=back_to_check, who_values=who_values
        )

    def _back_url(self) -> str:
        if self.correcting:
            return self.action.rsplit("/", 1)[0]
        return f"/apply?municipality={self.municipality.code}&procedure={self.procedure.id}"

    async def submitted_data(self) -> tuple[dict, Response | None]:
        """The whole draft, or a page showing its first problem."""
        form = await self.request.form()
        draft = _draft(form.get("_draft"))
        self.load_state(form)
        if not self.correcting and not self.who:
            return draft, self.show(_WHO, draft, return_to_check=True)
        all_fields = self.form.all_fields(draft)
        result = validate_application(
            self.procedure,
            self.municipality,
            _scaffold(json.loads(json.dumps(draft)), all_fields),
            attachments=self.context.attachments,
            owner=self.owner,
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


def _proxy_errors(payload: dict, exc: ProxyFilingInvalid) -> list[FieldError]:
    """Every problem of the proxy section at once, in the order of the inputs.

    The model checks the kana and the date only once each field is present, so a missing
    relationship would hide them: they are looked for again with a stand-in relationship.
    """
    found = {e.path: e for e in exc.errors}
    if "/relationship" in found and len(found) < len(_PROXY_KEYS):
        probe = {k: v for k, v in payload.items() if k != "relationship_detail"}
        probe["relationship"] = "spouse"
        try:
            parse_proxy_filing(probe)
        except ProxyFilingInvalid as again:
            for e in again.errors:
                found.setdefault(e.path, e)
    keys = {k: i for i, k in enumerate(_PROXY_KEYS)}
    ordered = sorted(found.values(), key=lambda e: keys.get(e.path.strip("/"), len(keys)))
    return [FieldError(path="/proxy" + e.path, code=e.code, message=e.message) for e in ordered]


def proxy_view(proxy: dict | None, lang: str) -> dict | None:
    """A proxy filing as shown on pages: the represented person and the relationship."""
    if not proxy:
        return None
    try:
        filing = parse_proxy_filing(proxy)
    except ProxyFilingInvalid:
        return None
    return {
        "name": filing.name,
        "name_kana": filing.name_kana,
        "birthdate": filing.birthdate.isoformat(),
        "relationship": filing.relationship_label("en" if lang == "en" else "ja"),
        "describe": filing.describe(),
    }


def _file_error(pointer: str, code: str, message: dict[str, str]) -> FieldError:
    return FieldError(path=pointer, code=code, message=message)


async def store_upload(
    wizard: _Wizard, pointer: str, upload: UploadFile, max_bytes: int
) -> str | FieldError:
    """Store one file posted by a page with the attachments API's own upload handler:
    the same rule lookup, size cap while streaming, content sniffing, blob key and
    ``AttachmentStore`` row. Answers the attachment id, or the refusal as a field error."""
    data = await upload.read(max_bytes + 1)  # one byte more is enough to be refused
    boundary = secrets.token_hex(16).encode()
    name = (upload.filename or "file").translate({ord(c): "_" for c in '"\r\n\\'})
    body = b"".join(
        [
            b"--",
            boundary,
            b"\r\n",
            b'Content-Disposition: form-data; name="file"; filename="',
            name.encode(),
            b'"\r\n',
            b"Content-Type: application/octet-stream\r\n\r\n",
            data,
            b"\r\n--",
            boundary,
            b"--\r\n",
        ]
    )
    headers = [
        (k, v)
        for k, v in wizard.request.scope["headers"]
        if k not in (b"content-type", b"content-length")
    ]
    headers += [
        (b"content-type", b"multipart/form-data; boundary=" + boundary),
        (b"content-length", str(len(body)).encode()),
    ]
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    inner = Request({**wizard.request.scope, "headers": headers}, receive)
    try:
        stored = await attachments_api.upload(
            inner,
            wizard.principal,
            wizard.context,
            procedure=wizard.procedure.id,
            field=pointer,
            municipality=wizard.municipality.code,
        )
    except CaseError as exc:
        return _file_error(pointer, exc.code, exc.message)
    return stored.id


def data_ids(data: dict, pointer: str) -> list[str]:
    value = _value_at(data, pointer)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) and value else []


def _value_at(data: Any, pointer: str) -> Any:
    node = data
    for segment in pointer.split("/")[1:]:
        segment = segment.replace("~1", "/").replace("~0", "~")
        node = node.get(segment) if isinstance(node, dict) else None
    return node


def _set_at(data: dict, pointer: str, value: Any) -> None:
    segments = [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]
    node = data
    for segment in segments[:-1]:
        if not isinstance(node.get(segment), dict):
            node[segment] = {}
        node = node[segment]
    node[segments[-1]] = value


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
    principal = _resident(request)
    cases = _cases(request)
    procedure = cases.procedure(procedure_id)
    municipality = cases.municipality(municipality_code)
    base = f"/apply/{municipality.code}/{procedure.id}"
    return _Wizard(
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
    """The first page of a new application (``?draft=`` resumes a saved draft)."""
    wizard = _new_wizard(request, municipality_code, procedure_id)
    data: dict = {}
    if draft is not None:
        store = wizard.context.drafts
        saved = store.get(wizard.owner, draft) if store and _DRAFT_ID.match(draft) else None
        if saved is None or (saved.procedure, saved.municipality) != (
            wizard.procedure.id,
            wizard.municipality.code,
        ):
            return error_page(
                request, 404, {"ja": "下書きが見つかりません。", "en": "Draft not found."}
            )
        wizard.draft_id, wizard.draft_rev = saved.id, saved.revision
        return wizard.show(wizard.page_ids[0], saved.data)
    default = wizard.form.schema.get("properties", {})
    for name, node in default.items():
        if isinstance(node, dict) and "default" in node:
            data[name] = node["default"]
    return wizard.show(wizard.page_ids[0], data)


@router.post("/apply/{municipality_code}/{procedure_id}")
@page
async def form_page(request: Request, municipality_code: str, procedure_id: str) -> Response:
    """The next (or previous) page of a new application; uploads; 「一時保存」."""
    return await _new_wizard(request, municipality_code, procedure_id).navigate()


@router.post("/apply/{municipality_code}/{procedure_id}/submit")
@page
async def submit(request: Request, municipality_code: str, procedure_id: str) -> Response:
    """Send the application; then show it (POST-redirect-GET)."""
    wizard = _new_wizard(request, municipality_code, procedure_id)
    data, problem = await wizard.submitted_data()
    if problem is not None:
        return problem
    try:
        view = await _cases(request).submit(
            wizard.principal,
            procedure_id,
            municipality_code,
            data,
            lang=i18n.request_lang(request),
            proxy=wizard.proxy,
        )
    except InvalidData as exc:
        errors = [FieldError(**e) for e in exc.details]
        return wizard._first_problem(data, errors)
    if wizard.draft_id and wizard.context.drafts is not None:
        # Filed: the case holds the answers now; the draft has done its job.
        wizard.context.drafts.delete(wizard.owner, wizard.draft_id)
    return redirect(f"/my/applications/{view.application_id}?filed=1")


# ---- drafts ---------------------------------------------------------------------------


@router.get("/my/drafts")
@page
async def my_drafts(request: Request, deleted: str | None = None) -> Response:
    """The resident's saved drafts (from any device), most recently saved first."""
    principal = _resident(request)
    context = request.app.state.portal
    cases = _cases(request)
    lang = i18n.request_lang(request)
    rows = []
    store = context.drafts
    for saved in store.list(cases.applicant_key(principal)) if store else []:
        title = {"ja": saved.procedure, "en": saved.procedure}
        with contextlib.suppress(CaseError):
            title = cases.procedure(saved.procedure).definition.title.model_dump()
        place = saved.municipality
        with contextlib.suppress(CaseError):
            place = i18n.pick(cases.municipality(saved.municipality).name.model_dump(), lang)
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


@router.post("/my/drafts/{draft_id}/delete")
@page
async def delete_draft(request: Request, draft_id: str) -> Response:
    """Discard a draft (POST-redirect-GET)."""
    principal = _resident(request)
    store = request.app.state.portal.drafts
    if store is None or not _DRAFT_ID.match(draft_id):
        return error_page(
            request, 404, {"ja": "下書きが見つかりません。", "en": "Draft not found."}
        )
    store.delete(_cases(request).applicant_key(principal), draft_id)
    return redirect("/my/drafts?deleted=1")


# ---- my applications ------------------------------------------------------------------


@router.get("/my")
@page
async def my_applications(request: Request) -> Response:
    """The resident's applications, newest first."""
    principal = _resident(request)
    cases = _cases(request)
    rows = []
    store = request.app.state.portal.drafts
    draft_count = len(store.list(cases.applicant_key(principal))) if store else 0
    for row in await cases.list_cases(principal):
        title: dict[str, str] = {"ja": row.procedure or "", "en": row.procedure or ""}
        with contextlib.suppress(CaseError):
            title = cases.procedure(row.procedure or "").definition.title.model_dump()
        rows.append(
            {"id": row.id, "title": title, "status": row.status, "started_at": row.started_at}
        )
    return render(
        request, "resident/list.html", principal=principal, rows=rows, draft_count=draft_count
    )


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
    form = SchemaForm(
        procedure.form_schema,
        messages=procedure.messages,
        municipality=municipality,
        attachments=request.app.state.portal.attachments,
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
        documents=[_with_status(ref, request.app.state.portal.register) for ref in view.documents],
        fields=form.all_fields(view.data),
        timeline=timeline_entries(view, procedure, lang, resident=True),
        filed=bool(filed),
        proxy_view=proxy_view(view.proxy, lang),
        done=done if done in ("withdraw", "submit_correction", "action") else None,
    )


def _with_status(ref: Any, register: Any) -> dict[str, Any]:
    """A document as the resident's page lists it: a replaced 申請控え or a revoked
    certificate says so in its link, so two links never read the same."""
    registered = register.get(ref.id)
    return {"id": ref.id, "title": ref.title,
            "status": registered.status if registered else "valid"}


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
        principal=principal,
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
