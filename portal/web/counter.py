"""What the counter pages (#19) share: who may use them, the session bar, the forms
they render and read back, and the session to open from a posted form.

Kept apart from the routes so the check is one function: every problem becomes a
``FieldError`` at the input's pointer (shown in the error summary and beside the input),
in Japanese and English.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import Request
from pydantic import ValidationError

from forms.schemaform import SchemaForm
from forms.validation import FieldError
from identity.counter import CHECK_METHODS, COUNTER_ROLE
from identity.principals import Caseworker
from portal.deps import application_of
from portal.web import session
from portal.web.bundles import posted_json
from services.counter import CounterService, CounterSessionView, OpenSession
from services.refusals import Refused

#: The inputs of the open-session form, by name: the pointer each error is shown at.
FIELDS = ("counter_id", "method", "name", "name_kana", "birthdate", "address")
_DATE = re.compile(r"^\s*(\d{4})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*日?\s*$")

_MESSAGES = {
    "counter_id": ("窓口の番号を英数字で入力してください（例：honcho-1F-3）",
                   "Enter the counter's id in letters and digits (for example honcho-1F-3)"),
    "method": ("本人確認の方法を選んでください", "Choose how the identity was checked"),
    "name": ("氏名を入力してください", "Enter the name"),
    "name_kana": ("氏名のフリガナは200文字までで入力してください",
                  "Enter the name in kana (up to 200 characters)"),
    "birthdate": ("生年月日を 1950-04-01 のように入力してください",
                  "Enter the date of birth like 1950-04-01"),
    "address": ("住所を入力してください", "Enter the address"),
}


def _error(name: str) -> FieldError:
    ja, en = _MESSAGES[name]
    return FieldError(path=f"/{name}", code="invalid", message={"ja": ja, "en": en})


def parse_birthdate(value: str) -> date | None:
    """``1950-04-01``, ``1950/4/1`` or ``1950年4月1日`` as a date (None if not one)."""
    found = _DATE.match(value or "")
    if not found:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def _problems(exc: ValidationError) -> list[FieldError]:
    """The model's errors at the form's inputs (``resident.name`` → ``/name``)."""
    names = [str(next((p for p in reversed(e["loc"]) if p in FIELDS), "")) for e in exc.errors()]
    return [_error(name) for name in names if name]


def open_request(form: dict[str, str], municipality: str
                 ) -> tuple[OpenSession | None, list[FieldError]]:
    """The session to open from the posted form, or every problem in the form's order."""
    errors: list[FieldError] = []
    birthdate = parse_birthdate(form.get("birthdate", ""))
    if birthdate is None:
        errors.append(_error("birthdate"))
    method = form.get("method")
    if method not in CHECK_METHODS:
        errors.append(_error("method"))
    request = None
    try:
        request = OpenSession.model_validate({
            "municipality": municipality, "counter_id": form.get("counter_id", ""),
            "method": method if method in CHECK_METHODS else CHECK_METHODS[0],
            "resident": {"name": form.get("name", ""),
                         "name_kana": form.get("name_kana") or None,
                         # a stand-in while the date is wrong, so the rest is still checked
                         "birthdate": birthdate or date(1900, 1, 1),
                         "address": form.get("address", "")}})
    except ValidationError as exc:
        errors += _problems(exc)
    unique = {e.path: e for e in errors}
    ordered = sorted(unique.values(), key=lambda e: FIELDS.index(e.path[1:]))
    return (request if not ordered else None), ordered


def staff_of(request: Request) -> Caseworker:
    """The signed-in counter staff member (role ``counter``); anyone else is refused."""
    principal = session.require_principal(request)
    if not isinstance(principal, Caseworker) or COUNTER_ROLE not in principal.roles:
        raise Refused("forbidden", "counter_staff_only",
                      "このページは窓口担当の職員のためのページです。",
                      "This page is for counter staff.")
    return principal


def counter_service(request: Request) -> CounterService:
    return application_of(request).counter


def session_bar(view: CounterSessionView) -> dict:
    """What the session bar shows on every counter page."""
    return {"session": view}


def event_form(request: Request, municipality: str, event: str) -> SchemaForm:
    """A life event's questionnaire as the catalogue holds it (x-choices, both languages)."""
    package = application_of(request).life_events.life_event(event, municipality)
    return SchemaForm(package.questionnaire, messages=package.messages,
                      municipality=application_of(request).catalogue.municipality(municipality))


def read_posted(form: SchemaForm, posted: Any) -> dict[str, Any]:
    """The answers a counter form posted, read against the answers it was rendered with
    (``_draft``): a list's items exist only as that page rendered them."""
    rendered = posted_json(posted.get("_draft"), dict) or {}
    return form.read(form.all_fields(rendered), posted, rendered)
