"""Statistical disclosure control of the public statistics table.

Primary suppression: a cell of fewer than 10 filed cases publishes no measure; a cell of
fewer than 10 decided cases publishes no durations. Secondary suppression, per procedure
and municipality, so that no difference of published counts isolates a group of 1–9
cases:

- months: the total minus the published months is the sum of the suppressed months; while
  it is 1–9, the smallest published month is suppressed too;
- disaster events: the total minus the published events (cases of no event, suppressed
  events); while it is 1–9, the smallest published event is suppressed too;
- months against events: for a published event, the months its cases fall in, if all are
  published, minus the published events lying wholly in those months; if that is 1–9, the
  event is suppressed (then the events' margin is checked again).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from services.statistics import MIN_CASES, MIN_DECIDED, CaseOutline, StatisticsRow

__all__ = ["suppress"]

_DURATIONS = ("median_days", "p90_days", "median_business_days", "p90_business_days",
              "within_standard_share")
_KEPT = {"procedure", "municipality", "period_kind", "period", "suppressed", "suppression",
         "durations_suppressed"}


def suppress(rows: Sequence[StatisticsRow], cases: Sequence[CaseOutline]
             ) -> list[StatisticsRow]:
    """The rows as they may be published (same order); ``rows`` is not changed."""
    out = [row.model_copy() for row in rows]
    groups: dict[tuple[str, str], list[StatisticsRow]] = defaultdict(list)
    for row in out:
        groups[(row.procedure, row.municipality)].append(row)
    months_of: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for case in cases:
        if case.disaster_event:
            months_of[(case.procedure, case.municipality, case.disaster_event)].add(case.month)
    for (procedure, municipality), group in groups.items():
        hidden = {id(r) for r in group if (r.filed or 0) < MIN_CASES}
        total = next(r for r in group if r.period_kind == "total")
        if id(total) in hidden:
            hidden |= {id(r) for r in group}
        else:
            _secondary(group, hidden, total.filed or 0,
                       {k: months_of[(procedure, municipality, k)] for k in
                        (r.period for r in group if r.period_kind == "disaster_event")})
        for row in group:
            if id(row) in hidden:
                _blank(row, "fewer_than_10" if (row.filed or 0) < MIN_CASES else "secondary")
            elif (row.decided or 0) < MIN_DECIDED:
                row.durations_suppressed = True
                for name in _DURATIONS:
                    setattr(row, name, None)
    return out


def _secondary(group: list[StatisticsRow], hidden: set[int], total: int,
               event_months: dict[str, set[str]]) -> None:
    months = [r for r in group if r.period_kind == "month"]
    events = [r for r in group if r.period_kind == "disaster_event"]
    _margin(months, hidden, total)
    changed = True
    while changed:
        _margin(events, hidden, total)
        changed = False
        month_filed = {r.period: (r.filed or 0) for r in months if id(r) not in hidden}
        for event in sorted((e for e in events if id(e) not in hidden),
                            key=lambda e: (e.filed or 0, e.period)):
            span = event_months[event.period]
            if not span <= month_filed.keys():
                continue  # a suppressed month hides the difference
            inside = [e for e in events if id(e) not in hidden
                      and event_months[e.period] <= span]
            left = sum(month_filed[m] for m in span) - sum(e.filed or 0 for e in inside)
            if 0 < left < MIN_CASES:
                hidden.add(id(min(inside, key=lambda e: (e.filed or 0, e.period))))
                changed = True
                break


def _margin(cells: list[StatisticsRow], hidden: set[int], total: int) -> None:
    """Suppress the smallest published cells until the total minus the published ones is
    0 or at least 10."""
    while True:
        shown = sorted((c for c in cells if id(c) not in hidden),
                       key=lambda c: (c.filed or 0, c.period))
        left = total - sum(c.filed or 0 for c in shown)
        if not shown or not 0 < left < MIN_CASES:
            return
        hidden.add(id(shown[0]))


def _blank(row: StatisticsRow, reason: str) -> None:
    for name in StatisticsRow.model_fields:
        if name not in _KEPT:
            setattr(row, name, None)
    row.suppressed = True
    row.suppression = reason  # type: ignore[assignment]
    row.durations_suppressed = True
