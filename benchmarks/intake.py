"""Benchmark 2 — intake: submissions/s and latency at 1, 10, 50, 200 concurrent residents,
through ``POST /api/applications`` of a real ``madoguchi web``, next to direct
``client.start_workflow`` calls of the same ``ProcedureWorkflow`` in the same run.

    .venv/bin/python -m benchmarks.intake [--levels 1,10,50,200] [--rounds 3] [--out DIR]

A bounded asyncio httpx client on loopback; every submission has its own resident token
(the portal rate-limits filing per client). The direct variant starts the workflow the way
``CaseService.submit`` does (same input, id policy and search attributes) from this driver
process, with no HTTP, token check, form validation or read-back query. Variants alternate
within each round; reported: medians over rounds of submissions/s, p50/p95/p99 over all
submissions, CPU s per submission by process, and the ratio p95 HTTP / p95 direct (goal ≤ 1.5).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._driver import BenchError, bounded, http_client, submit
from benchmarks._harness import (
    MUNICIPALITY,
    PROCEDURE,
    example_application,
    installation,
    latency_summary,
    median,
    ratio,
    self_cpu,
    table,
    write_result,
)

DEFAULT_LEVELS = (1, 10, 50, 200)


def submissions_for(level: int, scale: float = 1.0) -> int:
    return max(int(max(20, 2 * level) * scale), level)


class Direct:
    """Starts ``ProcedureWorkflow`` as ``CaseService.submit`` does, without the portal."""

    def __init__(self, client: Any, task_queue: str) -> None:
        from forms.catalog import Catalog

        self.client, self.task_queue = client, task_queue
        self.definition = Catalog.load().get(PROCEDURE).definition
        self.data = example_application()

    async def start(self) -> float:
        from temporalio.common import (
            SearchAttributePair,
            TypedSearchAttributes,
            WorkflowIDConflictPolicy,
            WorkflowIDReusePolicy,
        )

        from workflows import search_attributes as sa
        from workflows.models import Applicant, StartApplication
        from workflows.procedure import ProcedureWorkflow

        key = uuid.uuid4().hex
        app_id = "app-d" + uuid.uuid4().hex[:25]
        begin = time.perf_counter()
        start = StartApplication(
            application_id=app_id,
            definition=self.definition,
            municipality=MUNICIPALITY,
            applicant=Applicant(key=key, name="山田 太郎"),
            data=self.data,
            submitted_at=datetime.now(UTC),
        )
        await self.client.start_workflow(
            ProcedureWorkflow.run,
            start,
            id=app_id,
            task_queue=self.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.MUNICIPALITY, MUNICIPALITY),
                    SearchAttributePair(sa.PROCEDURE, PROCEDURE),
                    SearchAttributePair(sa.STAGE, self.definition.initial_stage),
                    SearchAttributePair(sa.STATUS, "in_progress"),
                    SearchAttributePair(sa.APPLICANT, key),
                ]
            ),
        )
        return time.perf_counter() - begin


async def run(
    levels: tuple[int, ...] = DEFAULT_LEVELS,
    rounds: int = 3,
    scale: float = 1.0,
    out: Path | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    with installation() as inst:
        inst.start_temporal()
        inst.start_worker("all")
        inst.start_web()
        client = await inst.temporal_client()
        direct = Direct(client, inst.task_queue)
        issuer = inst.dev_issuer()
        http = http_client(inst, max(levels))

        async def via_http(token: str) -> float | None:
            begin = time.perf_counter()
            try:
                await submit(http, token)
            except BenchError:
                return None  # counted as an error (e.g. 500 when the read-back query times out)
            return time.perf_counter() - begin

        warm = [issuer.issue_resident(f"w{i}", "山田 太郎") for i in range(4)]
        await bounded(2, [lambda t=t: via_http(t) for t in warm])
        await bounded(2, [direct.start for _ in range(4)])
        samples: dict[tuple[int, str], list[dict[str, Any]]] = {}
        for r in range(rounds):
            for level in levels:
                n = submissions_for(level, scale)
                order = ("http", "direct") if r % 2 == 0 else ("direct", "http")
                for variant in order:
                    if variant == "http":
                        run_id = uuid.uuid4().hex[:8]
                        tokens = [
                            issuer.issue_resident(f"i{run_id}{i}", "山田 太郎") for i in range(n)
                        ]
                        jobs = [lambda t=t: via_http(t) for t in tokens]
                    else:
                        jobs = [direct.start for _ in range(n)]
                    await asyncio.sleep(0.5)
                    inst.check_alive()
                    cpu0, me0, t0 = inst.cpu(), self_cpu(), time.perf_counter()
                    answered = await bounded(level, jobs)
                    latencies = [x for x in answered if x is not None]
                    elapsed = time.perf_counter() - t0
                    by_role = inst.cpu_by_role(cpu0, inst.cpu())
                    by_role["client" if variant == "direct" else "load_generator"] = (
                        self_cpu() - me0
                    )
                    samples.setdefault((level, variant), []).append(
                        {
                            "n": n,
                            "elapsed": elapsed,
                            "latencies": latencies,
                            "cpu": by_role,
                            "errors": len(answered) - len(latencies),
                        }
                    )
                    if not quiet:
                        print(
                            f"  round {r + 1} c={level:3d} {variant:6s} {n / elapsed:7.1f}/s",
                            flush=True,
                        )
        await http.aclose()

    result: dict[str, Any] = {"rounds": rounds, "levels": {}}
    for level in levels:
        entry: dict[str, Any] = {}
        for variant in ("http", "direct"):
            runs = samples[(level, variant)]
            roles = sorted({role for s in runs for role in s["cpu"]})
            entry[variant] = {
                "submissions": runs[0]["n"],
                "per_s": round(median([len(s["latencies"]) / s["elapsed"] for s in runs]), 1),
                "latency": latency_summary([x for s in runs for x in s["latencies"]]),
                "errors": sum(s.get("errors", 0) for s in runs),
                "cpu_s_per_submission": {
                    role: round(median([s["cpu"].get(role, 0.0) / s["n"] for s in runs]), 4)
                    for role in roles
                },
            }
        entry["p95_http_over_direct"] = ratio(
            entry["http"]["latency"]["p95_ms"], entry["direct"]["latency"]["p95_ms"]
        )
        entry["rate_http_over_direct"] = ratio(entry["http"]["per_s"], entry["direct"]["per_s"])
        result["levels"][str(level)] = entry
    result["goal_p95_ratio"] = 1.5
    write_result("intake", result, out)
    if not quiet:
        print(render(result))
    return result


def render(result: dict[str, Any]) -> str:
    rows = []
    for level, entry in result["levels"].items():
        for variant in ("http", "direct"):
            v = entry[variant]
            cpu = v["cpu_s_per_submission"]
            rows.append(
                [
                    level,
                    variant,
                    v["per_s"],
                    v["latency"]["p50_ms"],
                    v["latency"]["p95_ms"],
                    v["latency"]["p99_ms"],
                    cpu.get("temporal", 0.0),
                    cpu.get("worker", 0.0),
                    cpu.get("web", 0.0),
                    cpu.get("client", 0.0),
                    entry["p95_http_over_direct"] if variant == "http" else "",
                ]
            )
    title = f"intake: {result['rounds']} rounds, medians"
    return table(
        title,
        [
            "conc",
            "variant",
            "subm/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "cpu temporal",
            "cpu worker",
            "cpu web",
            "cpu client",
            "p95 ratio (goal<=1.5)",
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default=",".join(map(str, DEFAULT_LEVELS)))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="submissions per level x")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    levels = tuple(int(x) for x in args.levels.split(","))
    asyncio.run(run(levels, args.rounds, args.scale, args.out))


if __name__ == "__main__":
    main()
