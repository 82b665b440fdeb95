"""A generated form, one part per page, then "check your answers": the resident's wizard
for a new application or a correction.

A new application lives in a draft (``services.drafts``, encrypted at rest) from its first
page on, and every page has its own URL, ``/apply/{municipality}/{procedure}/d/{draft}/{page}``:
GET shows the page from the draft, POST saves what the page holds into the draft and answers
303 to the next page's URL (post/redirect/get), so Back and Forward only ever repeat GETs,
a language switch (a GET of the same URL) keeps every answer, and a draft reopens at the page
the resident was last sent to. A page whose answers have problems is shown at once (422)
after its answers are saved. Whom the application is for, and the proxy's details, are kept
in the draft beside the answers (``_wizard``, stripped before anything is validated or filed);
after filing, the draft keeps only the filed application's id, so a repeated 「申請する」 is
answered with that application (the filing also carries an idempotency key derived from the
draft).

A correction (and an installation without a draft store) carries the answers in hidden
fields instead (``_draft``; ``_proxy`` for a proxy filing), checked again as a whole when
sent. Either way a chosen file is stored at once (``services.attachments``).
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from forms import pointers
from forms.filing import validate_application
from forms.municipalities import Municipality
from forms.packages import Procedure
from forms.schemaform import Field, SchemaForm, errors_for
from forms.validation import FieldError
from identity.principals import Resident
from identity.proxy import RELATIONSHIP_LABELS, ProxyFilingInvalid, parse_proxy_filing
from portal.deps import application_of
from portal.web import i18n
from portal.web.cases import field_value, proxy_view
from portal.web.render import redirect, render
from services.cases import applicant_claims
from services.drafts import PAGE_STATE
from services.refusals import InvalidData, Refused

_MAX_DRAFT = 200_000
WHO = "_who"  # the first page of a new application: for oneself, or as a proxy
DRAFT_ID = re.compile(r"^drf-[0-9a-f]{26}$")
_PROXY_KEYS = ("name", "name_kana", "birthdate", "relationship", "relationship_detail")
CHECK = "_check"  # the check-your-answers page
_NOTICES = ("saved", "conflict", "no_drafts")


class Wizard:
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
        asked: str | None = None,
    ) -> None:
        self.request = request
        self.asked = asked  # a correction: what the caseworker asked for, on every page
        self.app = application_of(request)
        self.principal = principal
        self.owner = self.app.cases.applicant_key(principal)
        self.procedure = procedure
        self.municipality = municipality
        self.form = SchemaForm(
            procedure.form_schema,
            messages=procedure.messages,
            municipality=municipality,
            attachments=self.app.attachments.lookup,
            owner=self.owner,
        )
        self.action = action
        self.submit_action = submit_action
        self.correcting = correcting
        self.page_ids = ([] if correcting else [WHO]) + self.form.page_ids()
        # State carried from page to page in hidden fields.
        self.who = ""  # "", "self" or "proxy"
        self.proxy: dict | None = None
        self.draft_id: str | None = None
        self.draft_rev: int | None = None
        self.notice: str | None = None  # "saved" | "conflict" | "no_drafts"
        # A new application keeps its answers in a draft, one URL per page (PRG).
        self.persist = not correcting and self.app.drafts.configured
        self.filed: str | None = None  # the application a page-made draft was filed as
        self.refusal: dict | None = None  # why the filing was refused (shown on check)
        self.here = action  # the URL the shown page posts to

    # ---- the draft behind the pages ---------------------------------------------------

    def open_draft(self, draft_id: str) -> dict | None:
        """The answers of the resident's own draft ``draft_id`` of this procedure, with the
        wizard's state read from it; None if there is no such draft."""
        if not self.app.drafts.configured or not DRAFT_ID.match(draft_id):
            return None
        try:
            saved = self.app.drafts.get(self.principal, draft_id)
        except Refused:
            return None
        if (saved.procedure, saved.municipality) != (self.procedure.id, self.municipality.code):
            return None
        self.draft_id, self.draft_rev = saved.id, saved.revision
        data = json.loads(json.dumps(saved.data))
        meta = data.pop(PAGE_STATE, None)
        meta = meta if isinstance(meta, dict) else {}
        self.filed = meta.get("filed") if isinstance(meta.get("filed"), str) else None
        who = meta.get("who")
        self.who = who if who in ("self", "proxy") else ""
        if self.who == "proxy":
            try:
                self.proxy = parse_proxy_filing(meta.get("proxy") or {}).model_dump(mode="json")
            except ProxyFilingInvalid:
                self.who, self.proxy = "", None
        page = meta.get("page")
        self.last_page = page if page in self.page_ids or page == CHECK else self.page_ids[0]
        return data

    def _keep(self, data: dict, page_id: str, revision: int | None = None) -> None:
        """Save ``data`` and the wizard's state into the draft (a new one the first time).

        :raises Refused: ``invalid`` for what no form can hold, ``conflict`` (with
            ``revision``) if another device saved since.
        """
        meta: dict[str, Any] = {"who": self.who, "page": page_id}
        if self.proxy:
            meta["proxy"] = self.proxy
        saved = self.app.drafts.keep(self.principal, self.draft_id, self.procedure.id,
                                     self.municipality.code, {**data, PAGE_STATE: meta}, revision)
        self.draft_id, self.draft_rev = saved.id, saved.revision

    def mark_filed(self, application_id: str) -> None:
        """Keep only the filed application's id in the draft: a repeated 「申請する」 of the
        same draft is answered with it, and the answers are no longer stored here."""
        with contextlib.suppress(Refused):
            self.app.drafts.keep(self.principal, self.draft_id, self.procedure.id,
                                 self.municipality.code,
                                 {PAGE_STATE: {"filed": application_id}}, None)

    def page_url(self, page_id: str, *, return_to_check: bool = False,
                 notice: str | None = None) -> str:
        url = f"{self.action}/d/{self.draft_id}/{quote(page_id)}"
        query = [("return", "check")] if return_to_check else []
        if notice:
            query.append(("notice", notice))
        return url + ("?" + urlencode(query) if query else "")

    def _go(self, page_id: str, data: dict, *, return_to_check: bool = False,
            current: str | None = None) -> Response:
        """Move on to ``page_id``: with a draft, save and redirect (PRG); else show it."""
        if not self.persist:
            if page_id == CHECK:
                return self.check(data)
            return self.show(page_id, data, return_to_check=return_to_check)
        try:
            self._keep(data, page_id)
        except InvalidData as exc:  # a character no form takes: say where, keep the page
            return self.show(current or page_id, data, exc.errors,
                             return_to_check=return_to_check)
        return redirect(self.page_url(page_id, return_to_check=return_to_check))

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
        self.draft_id = draft_id if DRAFT_ID.match(draft_id) else None
        rev = str(form.get("_draft_rev") or "")
        self.draft_rev = int(rev) if rev.isdigit() else None

    def state(self) -> dict:
        return {
            "who": self.who,
            "proxy": self.proxy,
            "draft_id": self.draft_id,
            "draft_rev": self.draft_rev,
            "can_save": not self.correcting,
            "persist": self.persist and self.draft_id is not None,
        }

    def _common(self) -> dict:
        return {
            "state": self.state(),
            "notice": self.notice,
            "action": self.here,
            "procedure_title": self.procedure.definition.title.model_dump(),
            "correcting": self.correcting,
            "asked": self.asked,
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
        if self.persist and self.draft_id:
            self.here = self.page_url(page_id)
        if page_id == CHECK:
            return self.check(draft, errors)
        if page_id == WHO:
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
        if self.persist and self.draft_id:
            self.here = self.page_url(CHECK)
        status = 422 if errors else 409 if self.notice == "conflict" or self.refusal else 200
        return render(
            self.request,
            "resident/check.html",
            status=status,
            principal=self.principal,
            # As the 申請控え and the caseworker read them: ¥1,234,567, 令和8年9月10日.
            show_value=lambda f: field_value(f, i18n.request_lang(self.request)),
            pages=self.form.pages(draft),
            draft=draft,
            errors=errors or [],
            refusal=self.refusal,
            submit_action=(f"{self.action}/d/{self.draft_id}/_submit"
                           if self.persist and self.draft_id else self.submit_action),
            has_who=not self.correcting,
            **self._common(),
        )

    def errors(self, data: dict, fields: list[Field]) -> list[FieldError]:
        probe = _scaffold(json.loads(json.dumps(data)), fields)
        result = validate_application(
            self.procedure,
            self.municipality,
            probe,
            attachments=self.app.attachments.lookup,
            owner=self.owner,
            applicant=applicant_claims(self.principal),  # what eligibility rules read
        )
        return _worded(errors_for(result.errors, [f.pointer for f in fields]), fields)

    async def navigate(self, saved: dict | None = None) -> Response:
        """A page's POST: ``saved`` holds the draft's answers when the page came from one
        (else they come from the hidden fields)."""
        form = await self.request.form()
        if saved is not None:
            draft = saved
            rev = str(form.get("_draft_rev") or "")
            if rev.isdigit():  # the revision the page showed: 「一時保存」 notices other devices
                self.draft_rev = int(rev)
        else:
            draft = _draft(form.get("_draft"))
            self.load_state(form)
        page_id = str(form.get("_page") or "")
        nav = str(form.get("_nav") or "next")
        back_to_check = form.get("_return") == "check"
        if nav.startswith("goto:") and nav[5:] in self.page_ids:
            if self.persist:
                return self._go(nav[5:], draft, return_to_check=True)
            return self.show(nav[5:], draft, return_to_check=True)
        if page_id == CHECK and nav == "save":
            return self._save(None, draft, False)
        if page_id not in self.page_ids:
            return self.show(self.page_ids[0], draft)
        index = self.page_ids.index(page_id)
        if page_id == WHO:
            return self._who(form, draft, nav, back_to_check)
        fields = self.form.page(page_id, draft).fields
        data = self.form.read(fields, form, draft)
        data, upload_errors = await self._uploads(fields, form, data)
        if nav == "save":
            return self._save(page_id, data, back_to_check, upload_errors)
        if upload_errors:
            return self._stay(page_id, data, upload_errors, back_to_check)
        if nav.startswith("upload:"):
            return self._go(page_id, data, return_to_check=back_to_check, current=page_id)
        if nav.startswith("add:"):
            return self._go(page_id, self.form.with_item_added(data, nav[4:]),
                            return_to_check=back_to_check, current=page_id)
        if nav.startswith("remove:"):
            pointer, _, position = nav[7:].rpartition(":")
            removed = self.form.with_item_removed(
                data, pointer, int(position or -1) if position.lstrip("-").isdigit() else -1
            )
            return self._go(page_id, removed, return_to_check=back_to_check, current=page_id)
        if nav == "back":
            if back_to_check:
                return self._go(CHECK, data, current=page_id)
            if index == 0:
                return redirect(self._back_url())
            return self._go(self.page_ids[index - 1], data, current=page_id)
        errors = self.errors(data, fields)
        if errors:
            return self._stay(page_id, data, errors, back_to_check)
        if back_to_check or index == len(self.page_ids) - 1:
            return self._go(CHECK, data, current=page_id)
        return self._go(self.page_ids[index + 1], data, current=page_id)

    def _stay(self, page_id: str, data: dict, errors: list[FieldError],
              back_to_check: bool) -> Response:
        """Show the page again with its problems; what it holds is kept in the draft, so a
        language switch or a reload keeps it too."""
        if self.persist:
            with contextlib.suppress(InvalidData):
                self._keep(data, page_id)
        return self.show(page_id, data, errors, return_to_check=back_to_check)

    def _who(self, form: Any, draft: dict, nav: str, back_to_check: bool) -> Response:
        """The first page: for oneself, or for a family member (代理申請) and whom."""
        values = {"for": str(form.get("for") or "")}
        values.update({k: str(form.get(f"proxy_{k}") or "").strip() for k in _PROXY_KEYS})
        if nav == "back":
            return self._go(CHECK, draft) if back_to_check else redirect(self._back_url())
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
            return self._save(WHO, draft, back_to_check, errors, who_values=values)
        if errors:
            return self.show(WHO, draft, errors, return_to_check=back_to_check, who_values=values)
        if back_to_check:
            return self._go(CHECK, draft, current=WHO)
        return self._go(self.page_ids[1], draft, current=WHO)

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
            stored = await store_upload(self, f.pointer, upload)
            if isinstance(stored, FieldError):
                errors.append(stored)
                continue
            ids = [*current, stored]
            multiple = rule.get("max_count", 1) > 1 or isinstance(
                pointers.resolve(data, f.pointer, None), list)
            data = json.loads(json.dumps(data))
            pointers.assign(data, f.pointer, ids if multiple else stored)
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
        drafts = self.app.drafts
        if not drafts.configured:
            self.notice = "no_drafts"
        else:
            try:
                if self.persist:
                    self._keep(data, page_id or CHECK, self.draft_rev)
                else:
                    saved = drafts.keep(self.principal, self.draft_id, self.procedure.id,
                                        self.municipality.code, data, self.draft_rev)
                    self.draft_id, self.draft_rev = saved.id, saved.revision
                self.notice = "saved"
            except InvalidData as exc:
                return self.show(page_id or CHECK, data, exc.errors,
                                 return_to_check=back_to_check)
            except Refused as refused:
                if refused.code != "draft_conflict":
                    raise
                # Saved on another device since: say so; saving again overwrites it.
                self.draft_rev = refused.details["revision"]
                self.notice = "conflict"
        if self.persist and self.notice == "saved" and not errors:
            return redirect(self.page_url(page_id or CHECK, return_to_check=back_to_check,
                                          notice="saved"))
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
        return draft, self.problem_of(draft)

    def problem_of(self, draft: dict) -> Response | None:
        """The page showing the first problem of the whole application, or None."""
        if not self.correcting and not self.who:
            return self.show(WHO, draft, return_to_check=True)
        all_fields = self.form.all_fields(draft)
        result = validate_application(
            self.procedure,
            self.municipality,
            _scaffold(json.loads(json.dumps(draft)), all_fields),
            attachments=self.app.attachments.lookup,
            owner=self.owner,
            applicant=applicant_claims(self.principal),  # what eligibility rules read
        )
        if not result.valid:
            return self._first_problem(draft, result.errors)
        return None

    def _first_problem(self, draft: dict, errors: list[FieldError]) -> Response:
        for page_obj in self.form.pages(draft):
            mine = _worded(errors_for(errors, [f.pointer for f in page_obj.fields]),
                           page_obj.fields)
            if mine:
                return self.show(page_obj.id, draft, mine, return_to_check=True)
        return self.check(draft, errors)


def _worded(errors: list[FieldError], fields: list[Field]) -> list[FieldError]:
    """A yes/no question or a declaration left unanswered says what to do with it (the
    schema's generic "enter ..." reads oddly for a radio pair or a checkbox)."""
    kinds = {f.pointer: f.kind for top in fields for f in top.walk()}
    worded = []
    for e in errors:
        kind = kinds.get(e.path)
        if kind == "consent" and e.code in ("required", "const", "type"):
            e = FieldError(path=e.path, code=e.code, message={
                "ja": "内容を確認し、チェックを入れてください",
                "en": "Read the statement and tick the box to agree"})
        elif kind == "boolean" and e.code in ("required", "type"):
            e = FieldError(path=e.path, code=e.code, message={
                "ja": "「はい」か「いいえ」を選んでください", "en": "Choose Yes or No"})
        worded.append(e)
    return worded


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


def _file_error(pointer: str, code: str, message: dict[str, str]) -> FieldError:
    return FieldError(path=pointer, code=code, message=message)


async def store_upload(wizard: Wizard, pointer: str, upload: UploadFile) -> str | FieldError:
    """Store one file posted by a page with the attachments API's use case (the same rule,
    size cap, content sniffing and record). Answers the attachment id, or the refusal as a
    field error."""
    attachments = wizard.app.attachments
    try:
        rule = attachments.rule(wizard.principal, wizard.procedure.id, pointer,
                                wizard.municipality.code)
        data = await upload.read(rule.max_bytes + 1)  # one byte more is enough to refuse
        record = attachments.store(wizard.principal, wizard.procedure.id, pointer, rule,
                                   upload.filename, data)
    except Refused as exc:
        return _file_error(pointer, exc.code, exc.message)
    return record.id


def data_ids(data: dict, pointer: str) -> list[str]:
    value = pointers.resolve(data, pointer, None)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) and value else []


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
        if not isinstance(pointers.resolve(data, f.pointer, None), dict):
            # A group inside an array item that is not there yet has nothing to scaffold.
            with contextlib.suppress(IndexError, ValueError):
                pointers.assign(data, f.pointer, {})
        _scaffold(data, f.children)
    return data
