"""The installation the statistics pages' benchmark calls: the real portal app (catalogue,
stores in a temp dir) with the real statistics service over the milestones read model,
filled with N synthetic cases' milestones through the records API
(``records.statistics.MilestoneStore.append``, in chunks).

The cases: six procedures, two municipalities, 24 months of filing, one in ten about a
disaster event, a tenth filed at the counter, a fifth with a correction (answered four
days later), 85 % decided (approved / rejected) after a gamma-distributed number of days,
5 % withdrawn, the rest open. Seeded: every run holds the same cases.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI

from forms.catalog import Catalog
from identity.verify import TokenVerifier
from portal.app import create_app
from portal.deps import PortalContext
from portal.web.statistics_source import PublishedCache
from records.blobs import LocalBlobStore
from records.db import create_schema, make_engine
from records.inbox import InboxStore
from records.milestones import Milestone
from records.register import DocumentRegister
from records.statistics import MilestoneStore
from services.statistics import StatisticsService

PROCEDURES = (("disaster-certificate", 30), ("child-allowance", 30), ("childcare-status", 30),
              ("sme-telework-grant", 60), ("nhi-premium-reduction", 30),
              ("pregnancy-support-benefit", 14))
MUNICIPALITIES = ("131016", "141003")
FIRST = datetime(2025, 1, 1, tzinfo=UTC)
CHUNK = 20_000


def case_milestones(n: int, rng: random.Random) -> list[Milestone]:
    """The milestones of synthetic case ``n``."""
    procedure, days = rng.choice(PROCEDURES)
    event = "2026-typhoon-15" if procedure == "disaster-certificate" and rng.random() < 0.3 \
        else None
    common = {"application_id": f"app-bench-{n:07d}", "procedure": procedure,
              "municipality": rng.choice(MUNICIPALITIES), "disaster_event": event,
              "channel": "counter" if rng.random() < 0.1 else "online", "standard_days": days}
    filed = FIRST + timedelta(minutes=rng.randrange(0, 730 * 24 * 60))
    out = [Milestone(key="filed", kind="filed", at=filed, **common)]
    first = filed + timedelta(hours=rng.gammavariate(2, 10))
    out.append(Milestone(key="first_action:1", kind="first_action", at=first, **common))
    at, index = first, 2
    if rng.random() < 0.2:
        out.append(Milestone(key=f"correction_requested:{index}", kind="correction_requested",
                             at=at + timedelta(days=1), **common))
        at = at + timedelta(days=5)
        out.append(Milestone(key=f"correction_answered:{index + 1}",
                             kind="correction_answered", at=at, **common))
        index += 2
    fate = rng.random()
    if fate < 0.85:
        decided = at + timedelta(days=rng.gammavariate(3, days / 8))
        outcome = "approved" if rng.random() < 0.9 else "rejected"
        out.append(Milestone(key=f"decided:{index}", kind="decided", at=decided,
                             outcome=outcome, **common))
    elif fate < 0.9:
        out.append(Milestone(key=f"withdrawn:{index}", kind="withdrawn",
                             at=at + timedelta(days=2), **common))
        out.append(Milestone(key=f"decided:{index}", kind="decided",
                             at=at + timedelta(days=2), outcome="withdrawn", **common))
    return out


def seed(store: MilestoneStore, n: int, *, start: int = 0) -> int:
    """Append ``n`` synthetic cases' milestones; how many rows went in."""
    rng = random.Random(20 + start)
    added, batch = 0, []
    for case in range(start, start + n):
        batch += case_milestones(case, rng)
        if len(batch) >= CHUNK:
            added += store.append(batch)
            batch = []
    return added + store.append(batch)


@asynccontextmanager
async def installation(folder: Path, n: int
                       ) -> AsyncIterator[tuple[FastAPI, Callable[[], None], float, str]]:
    """The app; a function that records one more case and starts a new version of the
    published answers (what a refresh of the published table does); the seconds seeding
    took; the source's name."""
    engine = make_engine(f"sqlite:///{folder / 'madoguchi.db'}")
    create_schema(engine)
    store = MilestoneStore(engine)
    began = time.perf_counter()
    rows = seed(store, n)
    seeded = time.perf_counter() - began
    context = PortalContext(cases=None, verifier=TokenVerifier([]), inbox=InboxStore(engine),
                            register=DocumentRegister(engine),
                            blobs=LocalBlobStore(folder / "blobs"), catalog=Catalog.load())
    context.app.statistics = StatisticsService(store)  # type: ignore[attr-defined]
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = context
    more = iter(range(n, n + 10_000))

    def bump() -> None:
        seed(store, 1, start=next(more))
        app.state.statistics_cache = PublishedCache()

    yield app, bump, seeded, f"milestones read model, {rows:,} rows (SQLite)"
    engine.dispose()
