"""The assisted mode (#19): a resident filing beside a デジタル活用支援員 (digital-support
helper) sees larger text, step-by-step hints on every form page and a notice that a
helper is assisting.

The mode is a cookie preference chosen through a link or a GET form, so it works without
JavaScript. The helper's number (their badge code, not a name) is kept with it so the
filing can record the helper as assisting, never as a proxy: the resident stays the
applicant.
"""

from __future__ import annotations

import re

from fastapi import Request

from forms.schemaform import Field

COOKIE = "madoguchi_assisted"
#: What the cookie holds when the mode is on but no helper number was given.
ON_WITHOUT_NUMBER = "on"
#: A helper's badge code: letters, digits and hyphens (no name, no personal data).
HELPER_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,23}")


def helper_code(value: str | None) -> str | None:
    """``value`` as a helper's badge code, or ``None`` if it is not one."""
    value = (value or "").strip()
    return value if HELPER_CODE.fullmatch(value) else None


def cookie_value(code: str | None) -> str:
    """What the cookie stores for a helper's ``code`` (or none)."""
    return helper_code(code) or ON_WITHOUT_NUMBER


def state(request: Request) -> tuple[bool, str | None]:
    """Whether the assisted mode is on for ``request``, and the helper's code if one was
    given (a cookie a browser altered is read as off, not trusted)."""
    raw = request.cookies.get(COOKIE)
    if raw == ON_WITHOUT_NUMBER:
        return True, None
    code = helper_code(raw)
    return (code is not None), code


def code_to_record(request: Request) -> str | None:
    """The helper's code a filing made now resolves to ``assisted_by`` (through
    ``CounterService.helper_of``); ``None`` without the mode or without a code."""
    on, code = state(request)
    return code if on else None


#: The hint for a field by its kind, as a key of the page texts.
_KIND_HINTS = {
    "text": "assist.kind.text",
    "textarea": "assist.kind.textarea",
    "integer": "assist.kind.number",
    "number": "assist.kind.number",
    "date": "assist.kind.date",
    "email": "assist.kind.email",
    "tel": "assist.kind.tel",
    "radios": "assist.kind.radios",
    "boolean": "assist.kind.radios",
    "select": "assist.kind.select",
    "consent": "assist.kind.consent",
    "group": "assist.kind.group",
    "array": "assist.kind.array",
    "files": "assist.kind.files",
}


def steps(fields: list[Field]) -> list[tuple[Field, str]]:
    """One step per question of a page, in order: the field and the key of the hint that
    says, in plain words, what to do with it."""
    return [(f, _KIND_HINTS.get(f.kind, "assist.kind.text")) for f in fields]
