"""Presentation of a life event's bundle, shared by the resident's status page and the
caseworker's case page: each procedure's state in plain words, what it waits for, its
documents; where a questionnaire value came from."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from fastapi import Request

from forms import pointers
from portal.deps import application_of
from portal.web import i18n
from portal.web.cases import computed_rows
from services.refusals import Refused

#: A member's state as the resident reads it (when its case runs, the case's status says more).
MEMBER_STATES: dict[str, tuple[str, str]] = {
    "filed": ("申請しました", "Filed"),
    "waiting": ("ほかの手続きの結果を待っています", "Waiting for another procedure"),
    "not_filed": ("申請されませんでした", "Not filed"),
    "not_selected": ("選ばなかった手続きです", "You did not choose it"),
    "not_eligible": ("対象ではありません", "Does not apply"),
    "withdrawn": ("取り下げました", "Withdrawn"),
    "failed": ("申請を準備できませんでした（担当者が対応します）",
               "Could not be prepared (the municipality's staff will see to it)"),
}

#: Where a questionnaire value came from (``workflows.models.Provenance``).
PROVENANCES = ("card", "registry", "account", "declared", "unverified")


def sources(prefilled: Mapping[str, Any], provenance: Mapping[str, str],
            answers: Mapping[str, Any]) -> dict[str, str]:
    """Per JSON pointer, where the value the resident now sees came from: the prefill's
    source while it is unchanged, ``declared`` once the resident changed it. (What the
    filing records is decided again by the service at submission; this is only shown.)"""
    shown: dict[str, str] = {}
    for pointer, source in provenance.items():
        if source not in PROVENANCES:
            continue
        before = pointers.resolve(dict(prefilled), pointer, None)
        now = pointers.resolve(dict(answers), pointer, None)
        if source in ("card", "registry", "account") and before != now:
            shown[pointer] = "declared"
        else:
            shown[pointer] = source
    return shown


def member_rows(members: list[Any], lang: str, *, document_base: str,
                case_base: str | None) -> list[dict[str, Any]]:
    """The bundle's procedures as rows: title, state in plain words, what it waits for and
    why, its documents (download links), its case link."""
    rows = []
    for m in members:
        status = getattr(m, "status", None)
        stage_title = getattr(m, "stage_title", None)
        if m.state == "filed" and status == "awaiting_applicant" and stage_title:
            # As the list of applications says it: an issued 罹災証明書 reads 交付済み.
            state_text, stage_title = i18n.pick(stage_title, lang), None
        elif m.state == "filed" and status:
            state_text = i18n.pick(i18n.STATUS.get(status, (status, status)), lang)
        else:
            state_text = i18n.pick(MEMBER_STATES.get(m.state, (m.state, m.state)), lang)
        rows.append({
            "procedure": m.procedure,
            "title": i18n.pick(m.title, lang),
            "state": m.state,
            "status": status,
            "state_text": state_text,
            "stage_title": i18n.pick(stage_title, lang) if stage_title else None,
            "waits_for": i18n.pick(m.waits_for, lang) if m.waits_for else None,
            "reason": i18n.pick(m.reason, lang) if m.reason else None,
            "application_id": m.application_id,
            "case_url": (f"{case_base}{m.application_id}"
                         if case_base and m.application_id else None),
            "documents": [{"id": d.id, "title": i18n.pick(d.title, lang),
                           "url": f"{document_base}{d.id}"} for d in m.documents],
            "computed": dict(getattr(m, "computed", {}) or {}),
        })
    return rows


def member_facts(catalogue: Any, municipality: str, member: Any,
                 lang: str) -> list[dict[str, str]]:
    """What a member's case computed (the support grant's grade and amount), as label and
    value rows titled by the procedure's own messages."""
    computed = dict(getattr(member, "computed", {}) or {})
    if not computed:
        return []
    try:
        procedure = catalogue.procedure(member.procedure, None, municipality)
    except Refused:
        return []
    flat = []
    for row in computed_rows(procedure, computed, {}, lang):
        if row["value"]:
            flat.append({"label": row["label"], "value": row["value"]})
        flat.extend({"label": r["label"], "value": r["value"]} for r in row["rows"])
    return flat


async def bundle_beside(app: Any, principal: Any, view: Any, lang: str) -> dict[str, Any] | None:
    """The bundle a case belongs to, for the caseworker's case page: its title and every
    procedure with its state and a link to its case; None for a case filed on its own."""
    if not getattr(view, "bundle_id", None):
        return None
    bundle = await app.life_events.bundle_of_case(principal, view.application_id)
    if bundle is None:
        return None
    members = member_rows(bundle.members, lang, document_base="/my/documents/",
                          case_base="/staff/cases/")
    for member, row in zip(bundle.members, members, strict=True):
        row["facts"] = member_facts(app.catalogue, bundle.municipality, member, lang)
    return {"title": bundle.title, "members": members, "bundle_id": bundle.bundle_id}


async def life_event_entries(request: Request) -> list[dict[str, Any]]:
    """The life events any municipality offers (for the home, procedures and choose pages),
    once each: id, title, summary."""
    app = application_of(request)
    seen: dict[str, dict[str, Any]] = {}
    try:
        service = app.life_events
    except Refused:  # a process that runs no cases (the verify page's) offers none
        return []
    for municipality in app.catalogue.municipalities():
        for summary in service.summaries(municipality.code):
            seen.setdefault(summary.id, {"id": summary.id, "title": text_of(summary.title),
                                         "summary": text_of(summary.summary)})
    return list(seen.values())


def text_of(value: Any) -> dict[str, str]:
    return value.model_dump() if hasattr(value, "model_dump") else dict(value)


#: The most a hidden field of page state may hold (characters).
MAX_STATE = 100_000


def posted_json(raw: Any, kind: type) -> Any:
    """A page's state posted back in a hidden field (JSON of ``kind``), or None."""
    if not isinstance(raw, str) or len(raw) > MAX_STATE:
        return None
    with contextlib.suppress(ValueError):
        value = json.loads(raw)
        return value if isinstance(value, kind) else None
    return None
