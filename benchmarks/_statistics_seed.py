"""The installation the statistics pages' benchmark calls: the real portal app (catalogue,
stores in a temp dir) whose statistics come from N synthetic cases.

Until the statistics read model (h-stats: ``records/statistics.py``) is merged, the source
is :class:`SyntheticCases`: N cases' filing month, channel, days to decision and outcome
in memory, aggregated per procedure × municipality × event × month on every call (median
and 90th percentile included), as a service without a precomputed table would. Its cost
per call stands in for the service's ``cold`` one; the ``warm`` and ``revalidated``
figures are the portal's own and do not depend on the source.
"""

from __future__ import annotations

import csv
import io
import json
import random
import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from forms.catalog import Catalog
from identity.verify import TokenVerifier
from portal.app import create_app
from portal.deps import PortalContext
from records.blobs import LocalBlobStore
from records.db import create_schema, make_engine
from records.inbox import InboxStore
from records.register import DocumentRegister

PROCEDURES = ("disaster-certificate", "child-allowance", "childcare-status",
              "sme-telework-grant", "nhi-premium-reduction", "pregnancy-support-benefit")
MUNICIPALITIES = ("131016", "141003")
MONTHS = tuple(f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13))
SMALL = 10


@dataclass(frozen=True)
class Column:
    name: str
    title: dict[str, str]
    unit: str


COLUMNS = (
    Column("filed", {"ja": "申請件数", "en": "Applications filed"}, "count"),
    Column("decided", {"ja": "決定件数", "en": "Decided"}, "count"),
    Column("median_days", {"ja": "日数（中央値）", "en": "Days (median)"}, "days"),
    Column("p90_days", {"ja": "日数（90%）", "en": "Days (90th pct.)"}, "days"),
    Column("within_standard_share", {"ja": "期間内", "en": "In time"}, "share"),
    Column("online_share", {"ja": "オンライン", "en": "Online"}, "share"),
)


@dataclass
class Table:
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]


class SyntheticCases:
    """N cases, aggregated on every call (no precomputed table)."""

    def __init__(self, n: int, seed: int = 20) -> None:
        rng = random.Random(seed)
        self.version_id = 0
        self.cases = [
            (rng.choice(PROCEDURES), rng.choice(MUNICIPALITIES),
             "2026-typhoon-15" if rng.random() < 0.1 else "", rng.choice(MONTHS),
             rng.random() < 0.7, rng.random() < 0.9, rng.gammavariate(3, 4))
            for _ in range(n)
        ]

    def bump(self) -> None:
        self.version_id += 1

    def version(self) -> str:
        return str(self.version_id)

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        cells: dict[tuple[str, str, str, str], list[tuple[bool, bool, float]]] = {}
        for procedure, municipality, event, month, online, decided, days in self.cases:
            if query.procedure and procedure != query.procedure:
                continue
            if query.municipality and municipality != query.municipality:
                continue
            cells.setdefault((procedure, municipality, event, month), []).append(
                (online, decided, days))
        rows = []
        for (procedure, municipality, event, month), members in sorted(cells.items()):
            durations = sorted(d for _, decided, d in members if decided)
            small, few = len(members) < SMALL, len(durations) < SMALL
            rows.append({
                "procedure": procedure, "municipality": municipality, "event": event,
                "month": month, "filed": None if small else len(members),
                "decided": None if small else len(durations),
                "median_days": None if few else round(statistics.median(durations), 1),
                "p90_days": None if few else round(durations[int(len(durations) * 0.9)], 1),
                "within_standard_share": None if few else round(
                    sum(d <= 14 for d in durations) / len(durations), 4),
                "online_share": None if small else round(
                    sum(o for o, _, _ in members) / len(members), 4),
            })
        return rows

    def published(self, query: Any) -> Table:
        return Table(COLUMNS, self._rows(query))

    def internal(self, principal: Any, query: Any) -> Table:
        return Table(COLUMNS, [])

    def csv(self, query: Any) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, ["procedure", "municipality", "event", "month",
                                      *(c.name for c in COLUMNS)], lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(self._rows(query))
        return out.getvalue()

    def json(self, query: Any) -> str:
        return json.dumps({"rows": self._rows(query)}, ensure_ascii=False)

    def dataset(self) -> str:
        return json.dumps({"columns": [c.name for c in COLUMNS]})


@asynccontextmanager
async def installation(folder: Path, n: int
                       ) -> AsyncIterator[tuple[FastAPI, Callable[[], None], float, str]]:
    """The app, a function that moves the read model's version, the seconds the source
    took to fill, and the source's name."""
    engine = make_engine(f"sqlite:///{folder / 'madoguchi.db'}")
    create_schema(engine)
    began = time.perf_counter()
    source = SyntheticCases(n)
    seeded = time.perf_counter() - began
    context = PortalContext(cases=None, verifier=TokenVerifier([]), inbox=InboxStore(engine),
                            register=DocumentRegister(engine),
                            blobs=LocalBlobStore(folder / "blobs"), catalog=Catalog.load())
    context.app.statistics = source  # type: ignore[attr-defined]
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = context
    yield app, source.bump, seeded, "synthetic cases, aggregated per call (no read model yet)"
    engine.dispose()
