"""The statistics service (``services.statistics.StatisticsService``, h-stats) as the
pages read it (:class:`portal.web.statistics_source.StatisticsReader`).

The service publishes one row per procedure × municipality × period, where a period is a
month of filing (``period_kind="month"``), all months (``"total"``) or a disaster event
(``"disaster_event"``); the pages group rows by procedure × municipality × event with one
line per month. This module only renames: a month row keeps its month, the total row
becomes the line "all", an event row the line "all" of the event's own group. The CSV,
JSON and dataset description are the service's own bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from identity.principals import Caseworker

#: The service's columns that say which cell a row is, or why it is empty.
_NOT_MEASURES = frozenset({"procedure", "municipality", "period_kind", "period", "suppressed",
                           "suppression", "durations_suppressed"})
#: The service's units -> the pages' ("count", "share", "days", "hours").
_UNITS = {"cases": "count", "ratio": "share", "days": "days", "hours": "hours"}
ALL = "all"


@dataclass(frozen=True)
class Column:
    name: str
    title: Mapping[str, str]
    unit: str


@dataclass
class Table:
    columns: Sequence[Column]
    rows: list[dict[str, Any]]


def _columns(service_columns: Sequence[tuple[str, str, str, str]]) -> list[Column]:
    return [Column(name, {"ja": ja, "en": en}, _UNITS.get(unit, "count"))
            for name, unit, ja, en in service_columns if name not in _NOT_MEASURES]


def page_row(row: Any) -> dict[str, Any]:
    """A service row as the pages key it: procedure, municipality, event, month."""
    values = row.model_dump() if hasattr(row, "model_dump") else dict(row)
    kind, period = values["period_kind"], values["period"]
    values["event"] = period if kind == "disaster_event" else ""
    values["month"] = period if kind == "month" else ALL
    return values


def _in_months(row: Mapping[str, Any], start: str | None, end: str | None) -> bool:
    if row["month"] == ALL:
        return not (start or end)  # a total over every month does not fit a range
    return (not start or row["month"] >= start) and (not end or row["month"] <= end)


class ServiceReader:
    """``StatisticsService`` read by the pages."""

    def __init__(self, service: Any, columns: Sequence[tuple[str, str, str, str]]) -> None:
        self._service = service
        self._columns = _columns(columns)

    def version(self) -> str:
        """The service's version of its published table; until it has one (asked in
        NEEDS-FROM-STATS), the read model's row count and newest milestone, one indexed
        query."""
        own = getattr(self._service, "version", None)
        if callable(own):
            return str(own())
        from records.statistics import case_milestones

        query = select(func.count(), func.max(case_milestones.c.at))
        with self._service._store.engine.connect() as conn:
            count, newest = conn.execute(query).one()
        return f"{count}-{newest.isoformat() if newest else ''}"

    def _table(self, table: Any, query: Any) -> Table:
        rows = [page_row(r) for r in table.rows]
        return Table(self._columns, [r for r in rows if _in_months(r, query.start, query.end)])

    def published(self, query: Any) -> Table:
        return self._table(self._service.public_table(
            municipality=query.municipality, procedure=query.procedure), query)

    def internal(self, principal: Caseworker, query: Any) -> Table:
        rows: list[Any] = []
        for code in sorted(principal.municipalities):
            rows += [r for r in self._service.internal(code).rows
                     if not query.procedure or r.procedure == query.procedure]
        return self._table(Table(self._columns, rows), query)

    def csv(self, query: Any) -> bytes:
        return self._service.csv()

    def json(self, query: Any) -> bytes:
        return self._service.json()

    def dataset(self) -> bytes:
        return json.dumps(self._service.dataset_description(), ensure_ascii=False,
                          indent=1).encode("utf-8")
