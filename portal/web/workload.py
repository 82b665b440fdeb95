"""The dashboard's work in hand: open cases by stage, the overdue ones, and each
caseworker's load, counted from visibility rows (search attributes: no personal data).

The rows come from ``CaseService.list_cases`` for the signed-in caseworker, which selects
their municipalities only, so nothing here can count another municipality's case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from portal.web.charts import CLOSED
from services.queues import CaseSummary

UNASSIGNED = ""


@dataclass
class Load:
    assignee: str  # UNASSIGNED for cases nobody has taken
    open: int = 0
    overdue: int = 0


@dataclass
class Workload:
    open: int = 0
    overdue: list[CaseSummary] = field(default_factory=list)  # oldest due date first
    per_stage: dict[str, tuple[int, int]] = field(default_factory=dict)  # open, overdue
    loads: list[Load] = field(default_factory=list)  # most open cases first


def workload(rows: Iterable[CaseSummary], *, now: datetime) -> Workload:
    """Open and overdue cases per stage and per assignee; overdue: past its due date."""
    result = Workload()
    loads: dict[str, Load] = {}
    for row in rows:
        if row.status in CLOSED:
            continue
        late = row.due_at is not None and row.due_at < now
        result.open += 1
        stage = row.stage or ""
        opened, overdue = result.per_stage.get(stage, (0, 0))
        result.per_stage[stage] = (opened + 1, overdue + late)
        load = loads.setdefault(row.assignee or UNASSIGNED, Load(row.assignee or UNASSIGNED))
        load.open += 1
        load.overdue += late
        if late:
            result.overdue.append(row)
    result.overdue.sort(key=lambda r: (r.due_at, r.id))
    result.loads = sorted(loads.values(), key=lambda x: (-x.open, x.assignee))
    return result
