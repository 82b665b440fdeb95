"""Crashes under load: kill -9 of real worker processes, and of the Temporal server.

The cases, documents and notices pools each run as their own ``madoguchi worker``
process. They are killed with SIGKILL while documents are being rendered and sealed,
while an e-mail is in its DATA phase (after the end of data, before the reply), while a
webhook is being answered (stored, answer not yet sent: a lost reply), and at moments of
the load chosen at random; a supervisor starts each again a second later, as systemd or
Kubernetes would. Afterwards every case must be at its correct end, and every notice,
e-mail, webhook and document must exist exactly once.

The second batch of cases is filed while the first recovers (a killed activity is retried
only when its start-to-close timeout ends: 60 s for documents), and mid-way through
it the Temporal dev server is killed with SIGKILL and started again on the same SQLite
file. The same checks hold for it. Both share one installation so that the 2-minute wait
is spent on the second fault rather than idle (tests/faults must finish in 4 minutes).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.faults.load import (
    Case,
    Driver,
    Tally,
    certificates,
    check_end_state,
    final_views,
    plan,
    wait_settled,
)
from tests.support.faults import FAULT_CASES, Installation, record_numbers

pytestmark = pytest.mark.slow


class Supervisor:
    """Starts a killed worker again after ``delay`` seconds (Restart=always)."""

    def __init__(self, inst: Installation, delay: float = 1.0) -> None:
        self.inst, self.delay = inst, delay
        self.restarts = 0
        self._stop = False

    async def run(self) -> None:
        while not self._stop:
            for worker in self.inst.workers.values():
                if not worker.running:
                    await asyncio.sleep(self.delay)
                    worker.start(wait=False)
                    self.restarts += 1
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        self._stop = True


class Killer:
    """Kills worker pools and notes where each kill landed."""

    def __init__(self, inst: Installation) -> None:
        self.inst = inst
        self.kills: Counter[str] = Counter()
        self._lock = threading.Lock()

    def kill(self, pool: str, where: str) -> bool:
        with self._lock:
            worker = self.inst.workers[pool]
            if not worker.running:
                return False
            worker.kill()
            self.kills[f"{pool}:{where}"] += 1
            return True

    def once(self, pool: str, where: str, *, after: int):
        """A hook that kills ``pool`` once, on the first call after ``after`` calls that finds
        it running (a call can arrive from a pool another kill has just taken down)."""
        calls = {"n": 0, "done": False}
        # The SMTP and webhook servers call hooks from several threads at once: without the
        # lock, two calls could both see "not done" and kill twice (3 kills were seen).
        lock = threading.Lock()

        def hook(_: str) -> None:
            with lock:
                calls["n"] += 1
                if calls["n"] > after and not calls["done"]:
                    calls["done"] = self.kill(pool, where)

        return hook


async def _worker_kills(
    inst: Installation, driver: Driver, cases: list[Case], killer: Killer, rng: random.Random
) -> None:
    count = len(cases)
    inst.smtp.on_data = killer.once("notices", "email-data", after=3)
    inst.webhook.on_post = killer.once("notices", "webhook-answer", after=count // 3)
    load = asyncio.gather(*(driver.run_case(c, pace=i * 0.05) for i, c in enumerate(cases)))

    async def documents_in_flight() -> None:
        # Kill the documents pool twice while certificates are being rendered and sealed:
        # approvals acknowledged but not yet in the register.
        for _ in range(2):
            while True:
                approved = [c for c in cases if c.approved]
                registered = sum(certificates(inst, c.app_id) for c in approved)
                if len(approved) - registered >= 2 and registered >= 1:
                    break
                await asyncio.sleep(0.2)
            killer.kill("documents", "render-seal")
            await asyncio.sleep(rng.uniform(2.0, 4.0))

    async def at_random() -> None:
        for _ in range(3):
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            killer.kill(rng.choice(["cases", "notices"]), "random")

    await asyncio.gather(load, documents_in_flight(), at_random())
    # Notices go out in the background, and a killed notices pool delays them by its
    # activities' timeouts: wait for the kills that hang on notices before disarming them.
    end = time.monotonic() + 120
    while not (killer.kills["notices:email-data"] and killer.kills["notices:webhook-answer"]):
        assert time.monotonic() < end, f"notice kills never landed: {dict(killer.kills)}"
        await asyncio.sleep(0.2)
    inst.smtp.on_data = inst.webhook.on_post = None


async def _server_restart(
    inst: Installation, driver: Driver, cases: list[Case], restarts: Counter[str]
) -> None:
    load = asyncio.gather(*(driver.run_case(c, pace=i * 0.05) for i, c in enumerate(cases)))

    async def restart_mid_load() -> None:
        # Mid-load: some cases filed, some documents issued, others not yet approved.
        while sum(c.approved for c in cases) < len(cases) // 4:
            await asyncio.sleep(0.2)
        inst.temporal.kill()
        restarts["temporal:kill9"] += 1
        await asyncio.sleep(1.0)
        inst.temporal.start()  # same SQLite file, same port
        restarts["temporal:start"] += 1

    await asyncio.gather(load, restart_mid_load())


def _numbers(tally: Tally, cases: list[Case], driver: Driver, **extra: object) -> dict:
    return {
        "cases": len(cases),
        **extra,
        "lost": tally.lost,
        "reached_end": tally.reached_end,
        "documents": tally.documents,
        "document_mismatches": tally.document_mismatches,
        "inbox": tally.inbox_entries,
        "inbox_duplicates": tally.inbox_duplicates,
        "emails": tally.emails,
        "email_duplicates": tally.email_duplicates,
        "webhooks_stored": tally.webhooks_stored,
        "filing_retries": sum(c.filing_attempts - 1 for c in cases),
        "action_retries": sum(c.action_retries for c in cases),
    }


@pytest.mark.timeout(300 + 10 * (FAULT_CASES or 0))
async def test_kill9_workers_then_the_server_under_load(installation: Installation):
    inst = installation
    rng = random.Random(20261001)
    first = plan(FAULT_CASES or 20, "kill")
    second = plan(FAULT_CASES or 16, "srv")
    killer, supervisor, server = Killer(inst), Supervisor(inst), Counter[str]()
    started = time.monotonic()
    async with httpx.AsyncClient() as http:
        driver = Driver(inst, http)
        supervising = asyncio.create_task(supervisor.run())
        await _worker_kills(inst, driver, first, killer, rng)
        driven_first = time.monotonic() - started
        await _server_restart(inst, driver, second, server)
        driven_second = time.monotonic() - started - driven_first
        # A killed activity is retried only when its start-to-close timeout ends (documents
        # 60 s, notices 30 s): the wait below is bounded by that, not by the load.
        settle = await wait_settled(driver, first + second, timeout=200 + 3 * (FAULT_CASES or 0))
        supervisor.stop()
        await supervising
        views = await final_views(driver, first + second)
        first_tally = check_end_state(inst, first, views, exclusive=False)
        second_tally = check_end_state(inst, second, views, exclusive=False)
        whole = check_end_state(inst, first + second, views)
        elapsed = time.monotonic() - started

    record_numbers(
        "crashes",
        {
            "worker_kills": _numbers(
                first_tally,
                first,
                driver,
                kills=dict(killer.kills),
                kills_total=sum(killer.kills.values()),
                worker_restarts=supervisor.restarts,
                seconds_driving=round(driven_first, 1),
            ),
            "server_restart": _numbers(
                second_tally,
                second,
                driver,
                restarts=dict(server),
                seconds_driving=round(driven_second, 1),
            ),
            "webhook_reposts_after_lost_reply": whole.webhook_reposts,
            "webhook_duplicates_stored": 0,
            "client_transient_answers": dict(driver.transient_answers),
            "seconds_to_settle_after_load": round(settle, 1),
            "seconds_total": round(elapsed, 1),
        },
    )
    for tally in (first_tally, second_tally):
        assert tally.lost == 0 and tally.reached_end == tally.cases, tally.missing
        assert tally.document_mismatches == 0
        assert tally.inbox_duplicates == 0 and tally.email_duplicates == 0
    assert killer.kills["documents:render-seal"] == 2
    assert killer.kills["notices:email-data"] == 1 and killer.kills["notices:webhook-answer"] == 1
    assert server["temporal:kill9"] == 1
