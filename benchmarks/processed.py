"""Benchmark 3 — processed intake: submissions counted when fully processed, i.e. when the
申請控え (the filed data as a sealed, timestamped PDF/A) is stored and registered and the
e-mail receipt has been accepted by an SMTP server on loopback (aiosmtpd, in this driver).

    .venv/bin/python -m benchmarks.processed [-n 60] [--concurrency 50] [--rounds 2] [--out DIR]

The installation runs the standard catalogue (the 罹災証明書 from 1.2.0 issues the copy on
filing and sends the ``submitted`` receipt by inbox and e-mail once the copy is stored) with
``MADOGUCHI_SMTP_*`` set (security ``none``, loopback). Each resident's e-mail preference is
set through ``PUT /api/preferences`` before the measured window. A submission counts when
its receipt e-mail arrives; the workflow sends it only after the copy is registered, and
the run checks afterwards that every submission has its copy in the register.
Comparison (issue 10): Django + Celery + PostgreSQL, 2.1–2.6 processed/s, 650–800 ms CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._driver import bounded, http_client, submit
from benchmarks._harness import (
    Installation,
    free_port,
    installation,
    latency_summary,
    median,
    self_cpu,
    table,
    write_result,
)

DJANGO_CELERY = {"processed_per_s": [2.1, 2.6], "cpu_ms_per_submission": [650, 800]}


class Mailbox:
    """An aiosmtpd handler: resolves the future waiting for each recipient's message."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.lock = threading.Lock()
        self.received = 0

    def expect(self, address: str) -> asyncio.Future[float]:
        self.loop = asyncio.get_running_loop()
        future = self.loop.create_future()
        with self.lock:
            self.waiting[address.lower()] = future
        return future

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.perf_counter()
        self.received += 1
        for rcpt in envelope.rcpt_tos:
            with self.lock:
                future = self.waiting.pop(rcpt.lower(), None)
            if future is not None and self.loop is not None:
                self.loop.call_soon_threadsafe(_resolve, future, now)
        return "250 OK"


def registered_copies(inst: Installation, application_ids: list[str]) -> int:
    """How many of ``application_ids`` have their 申請控え in the register (read from the
    installation's database, outside the measured processes)."""
    from sqlalchemy import func, select

    from records.db import issued_documents, make_engine

    engine = make_engine(f"sqlite:///{inst.data_dir / 'madoguchi.db'}")
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(func.count(func.distinct(issued_documents.c.application_id))).where(
                    issued_documents.c.document_type == "application-copy",
                    issued_documents.c.application_id.in_(application_ids),
                )
            ).scalar_one()
    finally:
        engine.dispose()


def _resolve(future: asyncio.Future[float], value: float) -> None:
    if not future.done():
        future.set_result(value)


async def run(
    n: int = 60,
    concurrency: int = 50,
    rounds: int = 2,
    out: Path | None = None,
    quiet: bool = False,
    code: Path | None = None,
) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    smtp_port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {
        "MADOGUCHI_SMTP_HOST": "127.0.0.1",
        "MADOGUCHI_SMTP_PORT": str(smtp_port),
        "MADOGUCHI_SMTP_FROM": "窓口 <noreply@bench.example.jp>",
        "MADOGUCHI_SMTP_SECURITY": "none",
    }
    runs: list[dict[str, Any]] = []
    try:
        with installation(env=env, code=code) as inst:
            inst.start_temporal()
            inst.start_worker("all")
            inst.start_web()
            http = http_client(inst, concurrency)
            for r in range(rounds + 1):  # round 0 warms up
                sample = await _round(inst, http, mailbox, 4 if r == 0 else n, concurrency)
                if r == 0:
                    continue
                runs.append(sample)
                if not quiet:
                    print(f"  round {r} {n / sample['elapsed']:6.1f} processed/s", flush=True)
            await http.aclose()
    finally:
        controller.stop()

    result: dict[str, Any] = {
        "n_per_round": n,
        "rounds": rounds,
        "concurrency": concurrency,
        "comparison_django_celery": DJANGO_CELERY,
        "variants": {},
    }
    if runs:
        roles = sorted({role for s in runs for role in s["cpu"]})
        cpu = {
            role: round(median([s["cpu"].get(role, 0.0) / n for s in runs]), 4) for role in roles
        }
        total = sum(v for k, v in cpu.items() if k != "load_generator_and_smtp")
        rate = median([n / s["elapsed"] for s in runs])
        result["variants"]["madoguchi"] = {
            "processed_per_s": round(rate, 2),
            "latency_to_email": latency_summary([x for s in runs for x in s["latencies"]]),
            "cpu_s_per_submission": cpu,
            "cpu_s_per_submission_total": round(total, 4),
            "rate_vs_django_celery_best": round(rate / 2.6, 2),
            "cpu_vs_django_celery_best": round(total / 0.650, 3),
        }
    write_result("processed", result, out)
    if not quiet:
        print(render(result))
    return result


async def _round(
    inst: Installation, http: Any, mailbox: Mailbox, count: int, concurrency: int
) -> dict[str, Any]:
    """``count`` residents (e-mail on) file at once; timed until each receipt arrives, then
    checked: every submission has its 申請控え in the register."""
    issuer = inst.dev_issuer()
    run_id = uuid.uuid4().hex[:8]
    people = []
    for i in range(count):
        token = issuer.issue_resident(f"p{run_id}{i}", "山田 太郎")
        address = f"p{run_id}{i}@residents.example.jp"
        reply = await http.put(
            "/api/preferences",
            json={"lang": "ja", "email": address, "email_enabled": True, "push_enabled": False},
            headers={"Authorization": f"Bearer {token}"},
        )
        reply.raise_for_status()
        people.append((token, address))
    await asyncio.sleep(0.5)
    cpu0, me0, t0 = inst.cpu(), self_cpu(), time.perf_counter()
    filed: list[str] = []

    async def one(token: str, address: str) -> float:
        start = time.perf_counter()
        received = mailbox.expect(address)
        filed.append(await submit(http, token))
        return await asyncio.wait_for(received, 300) - start

    latencies = await bounded(concurrency, [lambda p=p: one(*p) for p in people])
    elapsed = time.perf_counter() - t0
    copies = registered_copies(inst, filed)
    if copies != len(filed):
        raise RuntimeError(f"{len(filed) - copies} receipts without a 申請控え")
    await asyncio.sleep(0.3)
    by_role = inst.cpu_by_role(cpu0, inst.cpu())
    by_role["load_generator_and_smtp"] = self_cpu() - me0
    return {"elapsed": elapsed, "latencies": latencies, "cpu": by_role}


def render(result: dict[str, Any]) -> str:
    rows = []
    for name, v in result["variants"].items():
        cpu = v["cpu_s_per_submission"]
        rows.append(
            [
                name,
                v["processed_per_s"],
                v["latency_to_email"]["p50_ms"],
                v["latency_to_email"]["p95_ms"],
                v["latency_to_email"]["p99_ms"],
                cpu.get("temporal", 0.0),
                cpu.get("worker", 0.0),
                cpu.get("web", 0.0),
                v["cpu_s_per_submission_total"],
                v["rate_vs_django_celery_best"],
                v["cpu_vs_django_celery_best"],
            ]
        )
    return table(
        "processed intake (申請控え stored + e-mail receipt accepted): "
        f"{result['rounds']} rounds x {result['n_per_round']}, {result['concurrency']} at once; "
        "Django+Celery: 2.1-2.6/s, "
        "650-800 ms CPU",
        [
            "web",
            "processed/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "cpu temporal",
            "cpu worker",
            "cpu web",
            "cpu s/subm",
            "rate / 2.6 (goal>=3)",
            "cpu / 0.65 (goal<=0.33)",
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    asyncio.run(run(args.n, args.concurrency, args.rounds, args.out))


if __name__ == "__main__":
    main()
