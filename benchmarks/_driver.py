"""Scripted residents and caseworkers, and the watcher that sees when work is done.

Every request carries its own token: the portal rate-limits ``POST /api/applications…``
per client (10 at once, 10 a minute), so each resident files with a distinct token and each
caseworker action uses a fresh token of a distinct caseworker (``sub``), as thousands of
real people would. Tokens are made before a measured window starts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select

from benchmarks._harness import MUNICIPALITY, PROCEDURE, Installation, example_application

SURVEY = {"damage_ratio": 42.5, "surveyed_on": "2026-10-01"}


class BenchError(RuntimeError):
    """The system answered a scripted step wrongly: the run is not a measurement."""


@dataclass
class CaseTokens:
    resident: str
    reviewer: str
    surveyor: str
    approver: str


def case_tokens(inst: Installation, n: int, *, prefix: str = "r") -> list[CaseTokens]:
    issuer = inst.dev_issuer()
    run = uuid.uuid4().hex[:8]
    out = []
    for i in range(n):
        tag = f"{prefix}{run}{i}"
        out.append(
            CaseTokens(
                resident=issuer.issue_resident(f"res-{tag}", "山田 太郎"),
                reviewer=issuer.issue_caseworker(f"rev-{tag}", [MUNICIPALITY], ["reviewer"]),
                surveyor=issuer.issue_caseworker(f"sur-{tag}", [MUNICIPALITY], ["surveyor"]),
                approver=issuer.issue_caseworker(f"app-{tag}", [MUNICIPALITY], ["approver"]),
            )
        )
    return out


def http_client(inst: Installation, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=inst.base_url, limits=limits, timeout=120)


async def submit(http: httpx.AsyncClient, token: str, data: dict[str, Any] | None = None) -> str:
    reply = await http.post(
        "/api/applications",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "procedure": PROCEDURE,
            "municipality": MUNICIPALITY,
            "data": data or example_application(),
        },
    )
    if reply.status_code != 201:
        raise BenchError(f"filing answered {reply.status_code}: {reply.text[:300]}")
    return reply.json()["id"]


async def act(
    http: httpx.AsyncClient,
    token: str,
    application_id: str,
    action: str,
    data: dict[str, Any] | None = None,
) -> None:
    body: dict[str, Any] = {"action": action}
    if data is not None:
        body["data"] = data
    reply = await http.post(
        f"/api/applications/{application_id}/actions",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
    )
    if reply.status_code != 200:
        raise BenchError(f"{action} answered {reply.status_code}: {reply.text[:300]}")


async def to_approval(http: httpx.AsyncClient, tokens: CaseTokens) -> str:
    application_id = await submit(http, tokens.resident)
    await act(http, tokens.reviewer, application_id, "accept")
    await act(http, tokens.surveyor, application_id, "survey", SURVEY)
    return application_id


@dataclass
class Watcher:
    """Polls the read models (the installation's SQLite file, read-only, outside the
    measured processes) for an inbox notice ``event`` of the applications it waits for."""

    inst: Installation
    event: str = "issued"
    interval: float = 0.05
    waiting: dict[str, asyncio.Future[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from records.db import make_engine

        self._engine = make_engine(f"sqlite:///{self.inst.data_dir / 'madoguchi.db'}")
        self._task: asyncio.Task | None = None

    def expect(self, application_id: str) -> asyncio.Future[float]:
        future = asyncio.get_running_loop().create_future()
        self.waiting[application_id] = future
        if self._task is None:
            self._task = asyncio.create_task(self._poll())
        return future

    async def _poll(self) -> None:
        from records.db import inbox_entries

        while True:
            await asyncio.sleep(self.interval)
            pending = [k for k, f in self.waiting.items() if not f.done()]
            if not pending:
                continue
            found = await asyncio.to_thread(self._query, inbox_entries, pending)
            now = time.perf_counter()
            for application_id in found:
                future = self.waiting.pop(application_id, None)
                if future is not None and not future.done():
                    future.set_result(now)

    def _query(self, table: Any, ids: list[str]) -> set[str]:
        found: set[str] = set()
        with self._engine.connect() as conn:
            for start in range(0, len(ids), 500):
                stmt = select(table.c.application_id).where(
                    table.c.event == self.event,
                    table.c.application_id.in_(ids[start : start + 500]),
                )
                found.update(row[0] for row in conn.execute(stmt))
        return found

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._engine.dispose()


async def bounded(concurrency: int, jobs: Iterable[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run ``jobs`` with at most ``concurrency`` at once; results in order; first error raises."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


def utcnow() -> datetime:
    return datetime.now(UTC)
