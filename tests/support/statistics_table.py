"""A published table the test writes itself, for the statistics pages' own tests.

The pages read any :class:`portal.web.statistics_source.StatisticsReader`; this one serves
a table the test chose (every unit, suppressed cells, a disaster event, two procedures
and municipalities), so a test can hold the page against numbers it knows, including
cases the small end-to-end run never reaches (durations from 10 decided cases). Its CSV is
written with the ``csv`` module from the same rows. The statistics service's own outputs
are tested in tests/services and by tests/browser/test_browser_statistics.py's run on
the real system.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from portal.web.statistics_source import StatsQuery

KEYS = ("procedure", "municipality", "event", "month")


@dataclass(frozen=True)
class Column:
    name: str
    title: Mapping[str, str]
    unit: str


COLUMNS = (
    Column("filed", {"ja": "申請件数", "en": "Applications filed"}, "count"),
    Column("decided", {"ja": "決定件数", "en": "Decided"}, "count"),
    Column("median_days", {"ja": "決定までの日数（中央値）", "en": "Days to decision (median)"},
           "days"),
    Column("p90_days", {"ja": "決定までの日数（90%）", "en": "Days to decision (90th pct.)"},
           "days"),
    Column("within_standard_share", {"ja": "期間内に決定した割合", "en": "Decided in time"},
           "share"),
    Column("correction_share", {"ja": "補正があった割合", "en": "Corrected at least once"},
           "share"),
    Column("online_share", {"ja": "オンライン申請の割合", "en": "Filed online"}, "share"),
)


@dataclass
class Table:
    columns: Sequence[Column]
    rows: list[dict[str, Any]]


@dataclass
class TableReader:
    """Serves ``rows`` (None: suppressed) as the published and the internal table."""

    rows: list[dict[str, Any]]
    internal_rows: list[dict[str, Any]] = field(default_factory=list)
    version_id: str = "v1"
    calls: list[str] = field(default_factory=list)

    def version(self) -> str:
        return self.version_id

    def _select(self, rows: list[dict[str, Any]], query: StatsQuery) -> list[dict[str, Any]]:
        return [r for r in rows
                if (not query.procedure or r["procedure"] == query.procedure)
                and (not query.municipality or r["municipality"] == query.municipality)
                and (not query.start or r["month"] >= query.start)
                and (not query.end or r["month"] <= query.end)]

    def published(self, query: StatsQuery) -> Table:
        self.calls.append("published")
        return Table(COLUMNS, self._select(self.rows, query))

    def internal(self, principal: Any, query: StatsQuery) -> Table:
        own = [r for r in self.internal_rows if r["municipality"] in principal.municipalities]
        return Table(COLUMNS, self._select(own, query))

    def csv(self, query: StatsQuery) -> str:
        self.calls.append("csv")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([*KEYS, *(c.name for c in COLUMNS)])
        for row in self._select(self.rows, query):
            writer.writerow([row.get(k) or "" for k in KEYS]
                            + ["" if row.get(c.name) is None else row[c.name] for c in COLUMNS])
        return out.getvalue()

    def json(self, query: StatsQuery) -> str:
        return json.dumps({"columns": [c.name for c in COLUMNS],
                           "rows": self._select(self.rows, query)}, ensure_ascii=False)

    def dataset(self) -> str:
        return json.dumps({"@type": "dcat:Dataset", "columns": [
            {"name": c.name, "unit": c.unit} for c in COLUMNS]}, ensure_ascii=False)


def sample_rows() -> list[dict[str, Any]]:
    """Three months of two procedures in two municipalities and one disaster event:
    small cells suppressed (None), durations only where 10 or more were decided."""
    rows = []
    plan = [("disaster-certificate", "131016", "", (42, 37, 18)),
            ("disaster-certificate", "131016", "2026-typhoon-15", (120, 95, 11)),
            ("disaster-certificate", "141003", "", (7, 12, 4)),
            ("child-allowance", "131016", "", (25, 9, 30))]
    for procedure, municipality, event, counts in plan:
        for month, filed in zip(("2026-08", "2026-09", "2026-10"), counts, strict=True):
            small = filed < 10
            decided = filed - 3
            rows.append({
                "procedure": procedure, "municipality": municipality, "event": event,
                "month": month, "filed": None if small else filed,
                "decided": None if small else decided,
                "median_days": None if decided < 10 else round(6.5 + filed / 20, 1),
                "p90_days": None if decided < 10 else round(14.0 + filed / 10, 1),
                "within_standard_share": None if decided < 10 else round(0.7 + filed / 1000, 4),
                "correction_share": None if small else round(0.125 + filed / 2000, 4),
                "online_share": None if small else round(0.5 + filed / 400, 4),
            })
    return rows
