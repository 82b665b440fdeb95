"""Benchmark — a life event's bundle against the same procedures filed one by one.

    .venv/bin/python -m benchmarks.life_events [-n 4] [--rounds 3] [--concurrency 2] [--out DIR]

Processes (CPU from /proc): the Temporal dev server (SQLite file) and one
``python -m benchmarks.worker --queue all``. Variants, interleaved round by round:

- ``bundle``: one ``LifeEventWorkflow`` whose three members (罹災証明書, 災害見舞金,
  国民健康保険料の減免) are filed at once: the bundle starts them as child cases;
- ``separate``: the same three cases started directly by the client, as the service files
  a procedure on its own;
- ``single``: one case (the 罹災証明書): the latency a bundle's filing is measured against;
- ``bare_noop``: a bare workflow with no-op activities (a speed probe of this machine).

Two latencies per filing: *accepted* — the server has durably taken the filing (the start
returned: what the resident waits for before the portal answers 201), and *processed* —
the ``submitted`` notice of each of its cases is in the inbox (after its 申請控え is
issued); the watcher polls the read model, outside the measured processes. Reports CPU per
bundle against the three separate filings (goal ≤ 1.1×), the bundle's filing (accepted)
p95 against a single filing's (goal ≤ 1.5×), and the processed p95s beside them: a bundle
has three receipts to render, so its processed p95 is compared with three separate filings.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._driver import Watcher, bounded
from benchmarks._harness import (
    MUNICIPALITY,
    installation,
    latency_summary,
    median,
    percentile,
    ratio,
    table,
    write_result,
)

PROCEDURES = ("disaster-certificate", "disaster-condolence-money", "nhi-premium-reduction")
EXAMPLES = {"disaster-certificate": "valid-basic", "disaster-condolence-money": "valid-total",
            "nhi-premium-reduction": "valid-total"}
VARIANTS = ("bundle", "separate", "single", "bare_noop")


def _life_event() -> Any:
    from forms.lifeevents import LifeEventDefinition

    return LifeEventDefinition.model_validate({
        "id": "bench-disaster", "version": "1.0.0",
        "title": {"ja": "被災した", "en": "Hit by a disaster"},
        "summary": {"ja": "-", "en": "-"}, "event_field": "/disaster_event",
        "procedures": [{"procedure": p, "reason": {"ja": "-", "en": "-"},
                        "not_eligible": {"ja": "-", "en": "-"}, "form": {}}
                       for p in PROCEDURES],
    })


class Inputs:
    """Workflow inputs built before a measured window (pinned definitions, examples)."""

    def __init__(self) -> None:
        import json

        from forms.catalog import Catalog

        catalog = Catalog.load()
        self.pinned = {p: catalog.get(p, municipality=MUNICIPALITY).definition
                       for p in PROCEDURES}
        self.data = {p: json.loads((catalog.get(p).directory / "examples" /
                                    f"{EXAMPLES[p]}.json").read_text(encoding="utf-8"))
                     for p in PROCEDURES}
        self.life_event = _life_event()

    def bundle(self) -> Any:
        from workflows.models import Applicant, BundleMemberStart, StartBundle

        return StartBundle(
            bundle_id="lev-bench" + uuid.uuid4().hex[:20], definition=self.life_event,
            municipality=MUNICIPALITY, applicant=Applicant(key="k" + uuid.uuid4().hex[:20]),
            answers={"disaster_event": self.data["disaster-certificate"]["disaster_event"]},
            members=[BundleMemberStart(procedure=p, title=self.pinned[p].title.model_dump(),
                                       state="filed", definition=self.pinned[p],
                                       data=self.data[p]) for p in PROCEDURES],
            submitted_at=datetime.now(UTC))

    def case(self, procedure: str, key: str) -> Any:
        from workflows.models import Applicant, StartApplication

        return StartApplication(
            application_id="app-bench" + uuid.uuid4().hex[:20],
            definition=self.pinned[procedure], municipality=MUNICIPALITY,
            applicant=Applicant(key=key), data=self.data[procedure],
            submitted_at=datetime.now(UTC))


async def _start_case(client: Any, start: Any, task_queue: str) -> None:
    """As services.cases.CaseService._start does."""
    from temporalio.common import (
        SearchAttributePair,
        TypedSearchAttributes,
        WorkflowIDReusePolicy,
    )

    from workflows import search_attributes as sa
    from workflows.procedure import ProcedureWorkflow

    definition = start.definition
    await client.start_workflow(
        ProcedureWorkflow.run, start, id=start.application_id, task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(sa.MUNICIPALITY, MUNICIPALITY),
            SearchAttributePair(sa.PROCEDURE, definition.id),
            SearchAttributePair(sa.STAGE, definition.initial_stage),
            SearchAttributePair(sa.STATUS, "in_progress"),
            SearchAttributePair(sa.APPLICANT, start.applicant.key),
            SearchAttributePair(sa.DUE_AT, start.submitted_at + timedelta(
                days=definition.processing_period.days)),
        ]))


async def run(n: int = 4, rounds: int = 3, concurrency: int = 2, out: Path | None = None,
              quiet: bool = False) -> dict[str, Any]:
    from benchmarks.bare import BARE_QUEUE_SUFFIX, BareWorkflow
    from benchmarks.engine import bare_input
    from workflows.life_event import LifeEventWorkflow, member_application_id

    inputs = Inputs()
    with installation() as inst:
        inst.start_temporal()
        inst.start_worker("all")
        client = await inst.temporal_client()
        watcher = Watcher(inst, event="submitted")

        async def bundle() -> float:
            start = inputs.bundle()
            began = time.perf_counter()
            done = [watcher.expect(member_application_id(start.bundle_id, p))
                    for p in PROCEDURES]
            await client.start_workflow(LifeEventWorkflow.run, start, id=start.bundle_id,
                                        task_queue=inst.task_queue)
            accepted = time.perf_counter() - began
            return accepted, max(await asyncio.gather(*done)) - began

        async def separate() -> float:
            key = "k" + uuid.uuid4().hex[:20]
            starts = [inputs.case(p, key) for p in PROCEDURES]
            began = time.perf_counter()
            done = [watcher.expect(s.application_id) for s in starts]
            for start in starts:  # one after the other, as three filings are
                await _start_case(client, start, inst.task_queue)
            accepted = time.perf_counter() - began
            return accepted, max(await asyncio.gather(*done)) - began

        async def single() -> float:
            start = inputs.case(PROCEDURES[0], "k" + uuid.uuid4().hex[:20])
            began = time.perf_counter()
            done = watcher.expect(start.application_id)
            await _start_case(client, start, inst.task_queue)
            accepted = time.perf_counter() - began
            return accepted, await done - began

        async def bare_noop() -> float:
            start_input = bare_input(inst.task_queue, "1.0.0", real=False, with_copy=False)
            began = time.perf_counter()
            handle = await client.start_workflow(
                BareWorkflow.run, start_input, id=start_input.document.application_id,
                task_queue=inst.task_queue + BARE_QUEUE_SUFFIX)
            for stage in ("survey", "approval", "issued"):
                await handle.execute_update(BareWorkflow.step, stage)
            await handle.result()
            took = time.perf_counter() - began
            return took, took

        jobs = {"bundle": bundle, "separate": separate, "single": single,
                "bare_noop": bare_noop}
        for variant in VARIANTS:  # warm-up: fonts, caches, the first tasks of each kind
            await asyncio.wait_for(bounded(2, [jobs[variant]] * 2), 120)
        samples: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
        for r in range(rounds):
            order = VARIANTS[r % len(VARIANTS):] + VARIANTS[:r % len(VARIANTS)]
            for variant in order:
                await asyncio.sleep(0.5)  # the previous variant's tail (notices) settles
                inst.check_alive()
                cpu0, t0 = inst.cpu(), time.perf_counter()
                latencies = await bounded(concurrency, [jobs[variant]] * n)
                elapsed = time.perf_counter() - t0
                await asyncio.sleep(0.3)
                cpu = inst.cpu_by_role(cpu0, inst.cpu())
                samples[variant].append({"elapsed": elapsed, "latencies": latencies,
                                         "cpu": cpu})
                if not quiet:
                    print(f"  round {r + 1} {variant:9s} {elapsed:5.1f} s", flush=True)
        await watcher.close()

    result: dict[str, Any] = {"n_per_round": n, "rounds": rounds, "concurrency": concurrency,
                              "procedures": list(PROCEDURES), "variants": {}}
    for variant, runs in samples.items():
        cpu = {role: round(median([s["cpu"].get(role, 0.0) / n for s in runs]), 4)
               for role in ("temporal", "worker")}
        result["variants"][variant] = {
            "accepted": latency_summary([a for s in runs for a, _ in s["latencies"]]),
            "latency": latency_summary([x for s in runs for _, x in s["latencies"]]),
            "p95_ms_by_round": [round(percentile([x for _, x in s["latencies"]], 95) * 1000, 1)
                                for s in runs],
            "cpu_s_per_filing": cpu,
            "cpu_s_per_filing_total": round(sum(cpu.values()), 4),
        }
    v = result["variants"]
    cpu_ratio = ratio(v["bundle"]["cpu_s_per_filing_total"],
                      v["separate"]["cpu_s_per_filing_total"])
    p95_ratio = ratio(v["bundle"]["accepted"]["p95_ms"], v["single"]["accepted"]["p95_ms"])
    result["ratios"] = {
        "cpu_bundle_over_separate": cpu_ratio, "goal_cpu": 1.1,
        "p95_bundle_over_single": p95_ratio, "goal_p95": 1.5,
        "processed_p95_bundle_over_single": ratio(v["bundle"]["latency"]["p95_ms"],
                                                  v["single"]["latency"]["p95_ms"]),
        "processed_p95_bundle_over_separate": ratio(v["bundle"]["latency"]["p95_ms"],
                                                    v["separate"]["latency"]["p95_ms"]),
    }
    result["met"] = bool(cpu_ratio <= 1.1 and p95_ratio <= 1.5)
    write_result("life_events", result, out)
    if not quiet:
        print(render(result))
    return result


def render(result: dict[str, Any]) -> str:
    rows = [[name, v["accepted"]["p50_ms"], v["accepted"]["p95_ms"],
             v["latency"]["p50_ms"], v["latency"]["p95_ms"],
             v["cpu_s_per_filing"]["temporal"], v["cpu_s_per_filing"]["worker"],
             v["cpu_s_per_filing_total"]] for name, v in result["variants"].items()]
    r = result["ratios"]
    return "\n".join([
        table(f"life events: {result['rounds']} rounds x {result['n_per_round']} filings, "
              f"{result['concurrency']} at once (medians; a filing of 'bundle' and "
              "'separate' is three cases)",
              ["variant", "accepted p50 ms", "accepted p95 ms", "processed p50 ms",
               "processed p95 ms", "cpu temporal", "cpu worker", "cpu s/filing"],
              rows),
        f"  CPU bundle / three separate filings: {r['cpu_bundle_over_separate']:.2f}x "
        f"(goal <= 1.1x)",
        f"  filing (accepted) p95 bundle / single filing: {r['p95_bundle_over_single']:.2f}x "
        f"(goal <= 1.5x)",
        f"  processed p95 bundle / single filing: "
        f"{r['processed_p95_bundle_over_single']:.2f}x; bundle / three separate filings: "
        f"{r['processed_p95_bundle_over_separate']:.2f}x (three receipts either way)",
        f"  speed probe: a bare no-op workflow costs "
        f"{result['variants']['bare_noop']['cpu_s_per_filing_total'] * 1000:.0f} ms CPU",
        f"  goals {'met' if result['met'] else 'NOT met'}",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=4, help="filings per variant per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    asyncio.run(run(args.n, args.rounds, args.concurrency, args.out))


if __name__ == "__main__":
    main()
