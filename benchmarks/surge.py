"""Benchmark — a surge: 10x the sustainable filing rate for a while, then nothing.

    .venv/bin/python -m benchmarks.surge [--seconds 60] [--factor 10] [--out DIR]

1. Sustainable rate: ``--probe`` residents file at once; the rate is how many are processed
   (申請控え stored, the ``submitted`` receipt in the inbox) per second.
2. Surge: filings are sent open-loop at ``factor`` x that rate for ``--seconds``, each by its
   own resident, each with a 2 s client deadline. Every answer must be 201, or 503 with
   ``Retry-After`` (admission control, services/admission.py); a timeout or another status is
   counted as a failure. Meanwhile a caseworker accepts cases filed before the surge, one a
   second: the p95 of those actions is reported.
3. Drain: the run waits until every filing answered 201 has its receipt, and reports the
   drain rate; then it checks against Temporal that the task queue holds exactly one case per
   201 (none lost, none twice).

Throughout, the largest backlog of each task queue (workflow tasks of the cases, the
documents and notices activities) is read from the workflow service once a second: the
queue where tasks wait for a worker is the only place a Temporal task priority can reorder
work. ``--nice`` sets the render processes' niceness (``MADOGUCHI_DOCUMENT_NICE``) and
``--rate`` fixes the surge's rate, to compare the two on equal terms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from benchmarks._driver import Watcher, act, bounded, http_client, submit
from benchmarks._harness import (
    MUNICIPALITY,
    PROCEDURE,
    Installation,
    example_application,
    installation,
    latency_summary,
    write_result,
)

DEADLINE = 2.0
#: Seconds between two looks at the task queues' backlogs.
BACKLOG_EVERY = 1.0


async def backlogs(client: Any, task_queue: str) -> dict[str, int]:
    """The approximate backlog of each task queue (tasks waiting for a worker slot), read
    from the workflow service: where work waits under a surge is where a priority can act."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from workflows.procedure import DOCUMENTS_QUEUE_SUFFIX, NOTICES_QUEUE_SUFFIX

    queues = {"cases (workflow tasks)": (task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
              "documents": (task_queue + DOCUMENTS_QUEUE_SUFFIX,
                            TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
              "notices": (task_queue + NOTICES_QUEUE_SUFFIX,
                          TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)}
    found = {}
    for label, (name, kind) in queues.items():
        reply = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=name),
            task_queue_type=kind, report_stats=True))
        found[label] = int(reply.stats.approximate_backlog_count)
    return found


async def watch_backlogs(client: Any, task_queue: str, stop: asyncio.Event,
                         seen: dict[str, int]) -> None:
    """Keep the largest backlog seen of each queue in ``seen`` until ``stop``."""
    while not stop.is_set():
        try:
            for label, count in (await backlogs(client, task_queue)).items():
                seen[label] = max(seen.get(label, 0), count)
        except Exception:  # a busy server: count the failed look, keep measuring the surge
            seen["failed looks"] = seen.get("failed looks", 0) + 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), BACKLOG_EVERY)


async def run(*, seconds: float = 60, factor: float = 10, probe: int = 12,
              in_flight: int | None = None, nice: int | None = None,
              rate: float | None = None, out: Path | None = None,
              quiet: bool = False) -> dict[str, Any]:
    from services.admission import DEFAULT_IN_FLIGHT

    env = {"MADOGUCHI_INTAKE_MAX_IN_FLIGHT": str(in_flight or DEFAULT_IN_FLIGHT),
           "MADOGUCHI_INTAKE_ANSWER_WITHIN": "1.5"}  # the product's defaults
    if nice is not None:
        env["MADOGUCHI_DOCUMENT_NICE"] = str(nice)
    with installation(env=env) as inst:
        inst.start_temporal()
        inst.start_worker("all")
        inst.start_web()
        http = http_client(inst, 400)
        watcher = Watcher(inst, event="submitted")
        try:
            result = await _measure(inst, http, watcher, seconds, factor, probe, rate, quiet)
        finally:
            await watcher.close()
            await http.aclose()
    write_result("surge", result, out)
    if not quiet:
        print(render(result))
    return result


async def _measure(inst: Installation, http: httpx.AsyncClient, watcher: Watcher,
                   seconds: float, factor: float, probe: int, fixed_rate: float | None,
                   quiet: bool) -> dict[str, Any]:
    issuer = inst.dev_issuer()
    tag = uuid.uuid4().hex[:8]
    data = example_application()
    # 1. Sustainable: a batch filed at once, timed until every receipt is there.
    warm = await _processed(http, watcher, [issuer.issue_resident(f"w{tag}{i}", "山田 太郎")
                                            for i in range(3)], data)
    began = time.perf_counter()
    before = await _processed(http, watcher, [issuer.issue_resident(f"s{tag}{i}", "山田 太郎")
                                              for i in range(probe)], data)
    sustainable = probe / (time.perf_counter() - began)
    rate = fixed_rate or sustainable * factor  # a fixed rate compares variants fairly
    total = max(1, int(rate * seconds))
    if not quiet:
        print(f"  sustainable {sustainable:.2f}/s; surge {rate:.1f}/s for {seconds:.0f} s",
              flush=True)
    tokens = [issuer.issue_resident(f"u{tag}{i}", "山田 太郎") for i in range(total)]
    reviewers = [issuer.issue_caseworker(f"rev{tag}{i}", [MUNICIPALITY], ["reviewer"])
                 for i in range(len(before))]
    # (status, seconds, Retry-After, case id or "admission"/"engine" for a 503)
    answers: list[tuple[int, float, str | None, str | None]] = []

    async def file(token: str) -> None:
        start = time.perf_counter()
        try:
            reply = await http.post(
                "/api/applications", headers={"Authorization": f"Bearer {token}"},
                json={"procedure": PROCEDURE, "municipality": MUNICIPALITY, "data": data},
                timeout=DEADLINE)
        except httpx.TimeoutException:
            answers.append((0, time.perf_counter() - start, None, None))
            return
        body = reply.json()
        case = body.get("id") if reply.status_code == 201 else (
            # Refused by admission control: not started. Else the workflow service was too
            # slow to answer: the filing may have arrived (the resident is told to look).
            "admission" if isinstance(body.get("details"), dict) else "engine")
        answers.append((reply.status_code, time.perf_counter() - start,
                        reply.headers.get("retry-after"), case))

    actions: list[float] = []

    async def caseworker(stop: asyncio.Event) -> None:
        for reviewer, case in zip(reviewers, before, strict=True):
            if stop.is_set():
                return
            start = time.perf_counter()
            await act(http, reviewer, case, "accept")
            actions.append(time.perf_counter() - start)
            await asyncio.sleep(1.0)

    # 2. Surge, open-loop: a filing every 1/rate s whatever the answers.
    stop = asyncio.Event()
    worker = asyncio.create_task(caseworker(stop))
    client = await inst.temporal_client()
    stop_looking, peak = asyncio.Event(), {}
    looking = asyncio.create_task(watch_backlogs(client, inst.task_queue, stop_looking, peak))
    sent: list[asyncio.Task] = []
    t0 = time.perf_counter()
    for i, token in enumerate(tokens):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent.append(asyncio.create_task(file(token)))
    await asyncio.gather(*sent)
    surge_end = time.perf_counter()
    stop.set()
    await worker
    # 3. Drain: every 201 gets its copy and receipt.
    filed = [case for status, _, _, case in answers if status == 201 and case]
    arrivals = await asyncio.gather(*(asyncio.wait_for(watcher.expect(c), 900) for c in filed))
    drained = max(arrivals, default=surge_end)
    backlog = [a for a in arrivals if a > surge_end]
    stop_looking.set()
    await looking
    cases = [w.id async for w in client.list_workflows(f"TaskQueue = '{inst.task_queue}'")]
    expected = set(filed) | set(before) | set(warm)  # the warm-up's cases too
    statuses: dict[str, int] = {}
    for status, _, _, _ in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    refused = [a for a in answers if a[0] == 503]
    unknown = sum(1 for a in answers if a[0] == 0 or a[3] == "engine")
    return {
        "seconds": seconds, "factor": round(rate / sustainable, 1),
        "document_nice": inst.env.get("MADOGUCHI_DOCUMENT_NICE", "default"),
        "sustainable_per_s": round(sustainable, 2), "surge_per_s": round(rate, 2),
        "sent": total, "answers_by_status": statuses,
        "answer_latency": latency_summary([a[1] for a in answers]),
        "all_answered_in_deadline": all(a[1] <= DEADLINE for a in answers),
        "only_201_or_503": set(statuses) <= {"201", "503"},
        "every_503_has_retry_after": all(a[2] for a in refused),
        "lost": len(expected - set(cases)), "duplicated": len(cases) - len(set(cases)),
        "unexpected_cases": len(set(cases) - expected),
        "refused_by_admission": sum(1 for a in refused if a[3] == "admission"),
        "answers_outcome_unknown": unknown,  # timeouts and "may have arrived" 503s
        "drain_s": round(drained - surge_end, 2),
        "drain_per_s": round(len(backlog) / (drained - surge_end), 2)
        if drained > surge_end and backlog else None,
        "caseworker_action": latency_summary(actions) if actions else {},
        "peak_backlog": peak,
    }


async def _processed(http: httpx.AsyncClient, watcher: Watcher, tokens: list[str],
                     data: dict[str, Any]) -> list[str]:
    # Four at a time: below any admission limit (the rate is the workers', not the portal's).
    cases = await bounded(4, [lambda t=t: submit(http, t, data) for t in tokens])
    await asyncio.gather(*(asyncio.wait_for(watcher.expect(c), 300) for c in cases))
    return list(cases)


def render(result: dict[str, Any]) -> str:
    met = (result["only_201_or_503"] and result["all_answered_in_deadline"]
           and result["every_503_has_retry_after"] and not result["lost"]
           and not result["duplicated"]
           and result["unexpected_cases"] <= result["answers_outcome_unknown"])
    lines = [
        f"surge: {result['surge_per_s']}/s ({result['factor']}x sustainable "
        f"{result['sustainable_per_s']}/s) for {result['seconds']} s, {result['sent']} sent",
        f"  answers {result['answers_by_status']}; p95 {result['answer_latency']['p95_ms']} ms",
        f"  refused by admission {result['refused_by_admission']}; outcome unknown to the "
        f"client {result['answers_outcome_unknown']} (filed anyway: "
        f"{result['unexpected_cases']}); lost {result['lost']}, "
        f"duplicated {result['duplicated']}",
        f"  drain {result['drain_s']} s at {result['drain_per_s']}/s "
        f"(sustainable {result['sustainable_per_s']}/s)",
        f"  caseworker action p95 {result['caseworker_action'].get('p95_ms')} ms",
        f"  largest task queue backlog seen: {result['peak_backlog']}",
        f"GOAL surge: 201/503+Retry-After within {DEADLINE} s, nothing lost -> "
        + ("met" if met else "not met"),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--factor", type=float, default=10)
    parser.add_argument("--probe", type=int, default=12)
    parser.add_argument("--in-flight", type=int, default=None,
                        help="MADOGUCHI_INTAKE_MAX_IN_FLIGHT of the web process "
                        "(default: the product's)")
    parser.add_argument("--nice", type=int, default=None,
                        help="MADOGUCHI_DOCUMENT_NICE of the render processes (default: the "
                        "product's; 0: documents compete with the rest for the CPU)")
    parser.add_argument("--rate", type=float, default=None,
                        help="filings/s of the surge (default: --factor x the sustainable "
                        "rate measured first; fix it to compare variants)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    asyncio.run(run(seconds=args.seconds, factor=args.factor, probe=args.probe,
                    in_flight=args.in_flight, nice=args.nice, rate=args.rate,
                    out=args.out))


if __name__ == "__main__":
    main()
