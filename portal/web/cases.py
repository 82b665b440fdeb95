"""A case as people read it on the resident's and the caseworker's pages alike."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import re
from typing import Any

from forms.packages import Procedure
from identity.proxy import ProxyFilingInvalid, parse_proxy_filing
from portal.web import i18n
from services.refusals import Refused
from workflows.models import ApplicationView
from workflows.references import spoken_reference


def timeline_entries(view: ApplicationView, procedure: Procedure, lang: str, *,
                     resident: bool, names: dict[str, str] | None = None) -> list[dict]:
    """The case's timeline as people read it.

    Staff read each step by its action's title and who took it (by name where ``names``
    knows the id). A resident reads what happened to their application (「審査」に進みました,
    not the caseworker's command 受理する), and only the comments addressed to them.
    """
    actions: dict[str, Any] = {}
    for stage in procedure.definition.stages:
        for action in stage.actions:
            actions.setdefault(action.id, action)
    stages = {s.id: s.title.model_dump() for s in procedure.definition.stages}
    entries = []
    for entry in view.timeline:
        if resident and entry.event == "revocation_requested":
            continue  # the municipality's own step until a second caseworker confirms it
        comment = entry.comment
        if entry.event in i18n.EVENTS:
            label = i18n.pick(i18n.EVENTS[entry.event], lang)
        elif resident:
            action = actions.get(entry.event)
            label = _resident_label(action, stages, lang)
            if label is None:
                continue
            if action is None or action.outcome != "rejected":
                comment = None  # a note between caseworkers; a rejection's reason is theirs
        else:
            action = actions.get(entry.event)
            title = action.title.model_dump() if action else {"ja": entry.event,
                                                              "en": entry.event}
            label = i18n.pick(title, lang)
        if entry.event == "issued":
            comment = None  # the document id, shown under documents instead
        if resident and entry.event in i18n.EVENTS and entry.event not in _TO_RESIDENT:
            comment = None
        if not resident and entry.actor not in (None, "applicant", "system"):
            who = (names or {}).get(entry.actor, entry.actor)
            label = f"{label}（{who}）" if lang == "ja" else f"{label} ({who})"
        entries.append({"at": entry.at, "label": label, "comment": comment})
    return list(reversed(entries))


#: Events whose comment is written to the applicant (the reason they are asked or refused).
_TO_RESIDENT = {"correction_requested", "rejected", "withdrawn", "revoked"}


def _resident_label(action: Any, stages: dict[str, dict[str, str]], lang: str) -> str | None:
    if action is None or action.kind == "claim":
        return None  # claims are "claimed" events already; unknown ids are staff matters
    if action.outcome == "rejected":
        return i18n.text("timeline.rejected", lang)
    if action.to and action.to in stages:
        return i18n.text("timeline.moved", lang, stage=i18n.pick(stages[action.to], lang))
    return i18n.text("timeline.worked", lang)


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
        "birthdate": i18n.when(filing.birthdate, lang),
        "relationship": filing.relationship_label("en" if lang == "en" else "ja"),
        "describe": filing.describe(),
    }


# ---- values as a person reads them -------------------------------------------------------

_STEP_REF = re.compile(r"\bsteps\.([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)")
_PERCENT = re.compile(r"\s*[（(]\s*[%％]\s*[)）]\s*$")


def yen(amount: int | float) -> str:
    """¥1,234,567 (both languages: the yen sign reads the same)."""
    return f"¥{amount:,.0f}" if float(amount).is_integer() else f"¥{amount:,}"


def _is_money(title: dict[str, str]) -> bool:
    ja, en = title.get("ja", ""), title.get("en", "").lower()
    return "円" in ja or "yen" in en or ja.endswith("額") or "経費" in ja


def _number(value: float | int) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.10g}"


def field_value(field: Any, lang: str) -> str:
    """A form field's answer as a person reads it: option labels (not codes), dates in the
    pages' one format, amounts of money as ¥1,234,567."""
    value = field.value
    if field.kind == "date" and isinstance(value, str):
        try:
            return i18n.when(dt.date.fromisoformat(value), lang)
        except ValueError:
            return value
    if (field.kind in ("integer", "number") and isinstance(value, int | float)
            and not isinstance(value, bool)):
        return yen(value) if _is_money(field.title) else _number(value)
    return field.display(lang)


def enum_titles(schema: Any) -> dict[str, dict[str, str]]:
    """Every code the schema titles with ``x-enum-titles`` (category codes in a computed
    list read as their titles)."""
    found: dict[str, dict[str, str]] = {}
    if isinstance(schema, dict):
        titles = schema.get("x-enum-titles")
        if isinstance(titles, dict):
            found.update({k: v for k, v in titles.items() if isinstance(v, dict)})
        for child in schema.values():
            found.update(enum_titles(child))
    elif isinstance(schema, list):
        for child in schema:
            found.update(enum_titles(child))
    return found


def _label(procedure: Procedure, keys: list[str]) -> dict[str, str]:
    """The first of ``keys`` the procedure's messages or the portal's texts name."""
    for key in keys:
        ja = procedure.messages.get("ja", {}).get(key)
        if ja:
            return {"ja": ja, "en": procedure.messages.get("en", {}).get(key) or ja}
        if key in i18n.STRINGS:
            pair = i18n.STRINGS[key]
            return {"ja": pair[0], "en": pair[1]}
    last = keys[-1].rsplit(".", 1)[-1].replace("_", " ")
    return {"ja": last, "en": last}


def _localized(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("ja"), str) and "en" in value


def _scalar(value: Any, title: dict[str, str], lang: str,
            codes: dict[str, dict[str, str]]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("はい" if value else "いいえ") if lang == "ja" else ("Yes" if value else "No")
    if _localized(value):
        return i18n.pick(value, lang)
    if isinstance(value, int | float):
        if _is_money(title):
            return yen(value)
        if "率" in title.get("ja", "") and 0 < value <= 1:
            return f"{value * 100:g}%"
        return _number(value)
    if isinstance(value, str):
        if value in codes:
            return i18n.pick(codes[value], lang)
        try:
            return i18n.when(dt.date.fromisoformat(value), lang)
        except ValueError:
            return value
    if isinstance(value, list):
        parts = [_scalar(v, title, lang, codes) for v in value]
        return ("、" if lang == "ja" else ", ").join(parts)
    if isinstance(value, dict):  # a shape no label knows: still words, never a repr
        parts = [f"{k}: {_scalar(v, {}, lang, codes)}" for k, v in value.items()]
        return ("、" if lang == "ja" else ", ").join(parts)
    return str(value)


def _basis(procedure: Procedure, name: str, steps: dict[str, dict[str, Any]],
           lang: str) -> str:
    """What a computed grade was computed from, as 損害割合 45%: the step inputs its
    expression reads, titled by the step's schema."""
    parts = []
    for stage in procedure.definition.stages:
        for action in stage.actions:
            spec = action.compute.get(name)
            if spec is None or not spec.value or not action.input_schema:
                continue
            schema = procedure.step_schemas.get(action.input_schema, {})
            for step, prop in _STEP_REF.findall(spec.value):
                if step not in steps or prop not in steps[step]:
                    continue
                node = schema.get("properties", {}).get(prop, {})
                title = {"ja": node.get("title", prop), "en": node.get("x-title-en", prop)}
                text = i18n.pick(title, lang)
                value = steps[step][prop]
                if _PERCENT.search(text) and isinstance(value, int | float):
                    parts.append(f"{_PERCENT.sub('', text)} {_number(value)}%")
                else:
                    parts.append(f"{text} {_scalar(value, title, lang, {})}")
    return ("、" if lang == "ja" else ", ").join(parts)


def computed_rows(procedure: Procedure, computed: dict[str, Any],
                  steps: dict[str, dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The case's computed values as rows ``{"label", "value", "rows"}``: a grade by its
    title with what it was computed from (大規模半壊（損害割合 45%）), amounts as ¥, a
    calculation's parts each under its own label."""
    codes = enum_titles(procedure.form_schema)
    rows = []
    for name, value in computed.items():
        title = _label(procedure, [f"computed.{name}"])
        row: dict[str, Any] = {"label": i18n.pick(title, lang), "value": "", "rows": []}
        if _localized(value):
            basis = _basis(procedure, name, steps, lang)
            shown = i18n.pick(value, lang)
            row["value"] = (f"{shown}（{basis}）" if lang == "ja" else f"{shown} ({basis})") \
                if basis else shown
        elif isinstance(value, dict):
            for key, part in value.items():
                part_title = _label(procedure, [f"computed.{name}.{key}", f"computed.{key}"])
                row["rows"].append({"label": i18n.pick(part_title, lang),
                                    "value": _scalar(part, part_title, lang, codes)})
        else:
            row["value"] = _scalar(value, title, lang, codes)
        rows.append(row)
    return rows


def changes_view(form: Any, changes: list[Any], lang: str) -> list[dict[str, str]]:
    """A correction's changes with the form's labels and values as people read them."""
    fields = {f.pointer: f for top in form.all_fields({}) for f in top.walk()}
    rows = []
    for change in changes:
        field = fields.get(_generic(change.pointer, fields))
        title = i18n.pick(field.title, lang) if field else change.pointer
        index = re.search(r"/(\d+)(?:/|$)", change.pointer)
        if index and field is not None:
            title = f"{title}（{int(index.group(1)) + 1}）" if lang == "ja" else \
                f"{title} ({int(index.group(1)) + 1})"
        rows.append({"label": title,
                     "before": _answer(field, change.before, lang),
                     "after": _answer(field, change.after, lang)})
    return rows


def _generic(pointer: str, fields: dict[str, Any]) -> str:
    """The field of an array item's answer (``/expenses/1/amount`` is ``/expenses/0/...``
    for its label)."""
    return pointer if pointer in fields else re.sub(r"/\d+(?=/|$)", "/0", pointer)


def _answer(field: Any, value: Any, lang: str) -> str:
    if value is None or value == "":
        return i18n.text("empty", lang)
    if field is None:
        return _scalar(value, {}, lang, {})
    shown = copy.copy(field)
    shown.value = value
    return field_value(shown, lang) or _scalar(value, field.title, lang, {})


def contact_view(municipality: Any, procedure: Procedure, lang: str) -> dict[str, str] | None:
    """The department a resident asks about this procedure: the one the municipality's
    overlay of it names (``procedure`` is the effective one), else the municipality's."""
    contact = municipality.contact_for(procedure)
    if contact is None:
        return None
    return {"department": i18n.pick(contact.department.model_dump(), lang),
            "phone": contact.phone or "",
            "hours": i18n.pick(contact.hours.model_dump(), lang) if contact.hours else "",
            "email": contact.email or ""}


def status_view(catalogue: Any, row: Any) -> dict[str, Any]:
    """A row of the resident's list: the phone reference, and the stage's own title when
    the case waits on them (an issued 罹災証明書 reads 交付済み, not 「手続き待ち」)."""
    title = None
    if row.status == "awaiting_applicant" and row.procedure:
        with contextlib.suppress(Refused):
            for procedure in catalogue.all_versions():
                if procedure.id != row.procedure:
                    continue
                stage = procedure.definition.stage(row.stage or "")
                if stage is not None:
                    title = stage.title.model_dump()
                    break
    return {"reference": spoken_reference(row.id), "stage_title": title}


def application_extras(view: ApplicationView, procedure: Procedure, municipality: Any,
                       lang: str) -> dict[str, Any]:
    """What the resident's application page shows beside the case: the phone reference, the
    department to ask and the standard processing period behind the expected date."""
    return {"reference": spoken_reference(view.application_id),
            "contact": contact_view(municipality, procedure, lang),
            "period_days": procedure.definition.processing_period.days,
            "show_value": lambda f: field_value(f, lang)}
