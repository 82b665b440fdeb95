"""The dashboard's second half (#20): work in hand, overdue cases, caseworkers' load, and
the municipality's own measures without suppression.

The case rows are those the dashboard already listed for the caseworker (their
municipalities only); the measures are the statistics service's internal table, which it
selects for the caseworker's municipalities itself. Nothing here widens either.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi import Request

from identity.principals import Caseworker
from portal.deps import application_of
from portal.web import i18n
from portal.web.statistics_source import StatsQuery, statistics_of
from portal.web.statistics_view import Measure, group_titles, groups
from portal.web.stattexts import stat_text
from portal.web.workload import workload
from services.queues import CaseSummary
from services.refusals import Refused
from workflows.references import spoken_reference

#: Overdue cases listed on the dashboard; the queue's overdue filter shows them all.
OVERDUE_SHOWN = 50


def dashboard_work(request: Request, principal: Caseworker, rows: Sequence[CaseSummary],
                   stages: dict[str, dict[str, str]], lang: str, *, now: datetime
                   ) -> dict[str, Any]:
    """The template values of ``staff/_dashboard_work.html``."""
    app = application_of(request)
    work = workload(rows, now=now)
    titles = {p.definition.id: p.definition.title.model_dump() for p in app.catalogue.latest()}

    def stage_title(stage: str) -> str:
        return i18n.pick(stages.get(stage, {"ja": stage, "en": stage}), lang)

    backlog = sorted(((stage, stage_title(stage), counts)
                      for stage, counts in work.per_stage.items()),
                     key=lambda item: (-item[2][0], item[0]))
    overdue = [{"id": r.id, "reference": spoken_reference(r.id), "assignee": r.assignee,
                "due_at": r.due_at, "stage_title": stage_title(r.stage or ""),
                "procedure_title": i18n.pick(titles.get(r.procedure or ""), lang)}
               for r in work.overdue[:OVERDUE_SHOWN]]
    try:
        table = statistics_of(request).internal(principal, StatsQuery())
    except Refused as exc:  # an installation without statistics: the rest still shows
        if exc.kind != "unavailable":
            raise
        measures_groups = None
    else:
        measures = [Measure(c.name, dict(c.title), c.unit) for c in table.columns]
        measures_groups = groups(table.rows, measures, lang=lang,
                                 title_of=group_titles(app.catalogue, lang), charts=False)
    return {
        "s": lambda key, **values: stat_text(key, lang, **values),
        "work": work, "backlog": backlog, "overdue": overdue,
        "measures_groups": measures_groups,
    }
