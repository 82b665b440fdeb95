"""A case as people read it on the resident's and the caseworker's pages alike."""

from __future__ import annotations

from forms.packages import Procedure
from identity.proxy import ProxyFilingInvalid, parse_proxy_filing
from portal.web import i18n
from workflows.models import ApplicationView


def timeline_entries(view: ApplicationView, procedure: Procedure, lang: str, *,
                     resident: bool) -> list[dict]:
    """The case's timeline as people read it (action titles from the definition)."""
    titles: dict[str, dict[str, str]] = {}
    for stage in procedure.definition.stages:
        for action in stage.actions:
            titles.setdefault(action.id, action.title.model_dump())
    entries = []
    for entry in view.timeline:
        if resident and entry.event == "revocation_requested":
            continue  # the municipality's own step until a second caseworker confirms it
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
