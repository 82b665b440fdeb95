"""A slow notice-channel lookup (a local activity) with caseworkers acting meanwhile: the
history it leaves replays (the known failure under load: the patch notices-queue-v1 came
after the lookup, in a later workflow task, and the replay found no command for it).

The run forces that interleaving (a lookup slower than the updates that arrive during it)
and replays what it recorded; ``MADOGUCHI_RECORD_HISTORIES=1`` also writes
``disaster-certificate-<version>-slow-channel-lookup.json`` for tests/replay.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import time
from datetime import timedelta
from pathlib import Path

from temporalio import activity
from temporalio.worker import Replayer

from tests.support.stack import eventually, start_stack
from workflows.activities import NoticeChannelsInput
from workflows.campaign import CampaignWorkflow
from workflows.life_event import LifeEventWorkflow
from workflows.procedure import ProcedureWorkflow
from workflows.worker import build_workers

APPS = "/api/applications"
HISTORIES = Path(__file__).resolve().parents[1] / "replay" / "histories"
RECORD = os.environ.get("MADOGUCHI_RECORD_HISTORIES") == "1"
LOOKUP_SECONDS = 9.0


async def test_updates_during_a_slow_channel_lookup_leave_a_history_that_replays(
        dev_env, tmp_path, catalog, sealed_documents):
    stack, activities = await start_stack(dev_env.client, tmp_path, catalog, sealed_documents)
    lookup = activities.notice_channels

    @activity.defn(name="notice_channels")
    def slow_lookup(request: NoticeChannelsInput) -> list[str]:
        time.sleep(LOOKUP_SECONDS)  # a preferences store under load
        return lookup(request)

    activities.notice_channels = slow_lookup  # type: ignore[method-assign]
    examples = catalog.get("disaster-certificate").directory / "examples"
    data = json.loads((examples / "valid-basic.json").read_text(encoding="utf-8"))
    resident, surveyor = stack.resident("slow-1", "遅延 一郎"), stack.caseworker("cw-1")
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        async with contextlib.AsyncExitStack() as running:
            for worker in build_workers(dev_env.client, activities, task_queue=stack.task_queue,
                                        executor=executor,
                                        graceful_shutdown=timedelta(seconds=5)):
                await running.enter_async_context(worker)
            filed = await stack.http.post(APPS, json={
                "procedure": "disaster-certificate", "municipality": "131016", "data": data},
                headers=resident)
            assert filed.status_code == 201, filed.text
            app_id, version = filed.json()["id"], filed.json()["procedure_version"]
            stack.started.append(app_id)
            # The 'submitted' notice goes out once the 申請控え is issued: while its lookup
            # runs, the caseworker's steps, back to back.
            async def copy_issued() -> bool:
                view = await stack.http.get(f"{APPS}/{app_id}", headers=resident)
                return bool(view.json()["documents"])
            await eventually(copy_issued, interval=0.05)
            await asyncio.sleep(0.2)
            for action in ("claim", "accept"):
                reply = await stack.http.post(f"{APPS}/{app_id}/actions",
                                              json={"action": action}, headers=surveyor)
                assert reply.status_code == 200, (action, reply.text)

            async def notified() -> bool:
                return await _delivered(stack, app_id)
            await eventually(notified, timeout=30)
            history = await dev_env.client.get_workflow_handle(app_id).fetch_history()
    await stack.http.aclose()
    # The lookup outlasted its workflow task; the queue's patch was decided before it.
    assert _lookup_after_a_later_task(history), "notices-queue-v1 came after the lookup"
    replayer = Replayer(workflows=[ProcedureWorkflow, CampaignWorkflow, LifeEventWorkflow],
                        data_converter=dev_env.client.data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
    if RECORD:
        target = HISTORIES / f"disaster-certificate-{version}-slow-channel-lookup.json"
        target.write_text(history.to_json(), encoding="utf-8")


async def _delivered(stack, app_id: str) -> bool:
    """Whether the 'submitted' notice went out and every activity scheduled has finished."""
    events = (await stack.client.get_workflow_handle(app_id).fetch_history()).events
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name
                 for e in events if e.HasField("activity_task_scheduled_event_attributes")]
    completed = sum(1 for e in events if e.HasField("activity_task_completed_event_attributes"))
    return "deliver_notice" in scheduled and completed >= len(scheduled)


def _lookup_after_a_later_task(history) -> bool:
    """Whether the lookup's marker came in a later workflow task than the patch
    notices-queue-v1 (the lookup outlasted the task, and the patch was decided before it)."""
    task, patches, lookup = 0, {}, None
    for event in history.events:
        if event.HasField("workflow_task_completed_event_attributes"):
            task += 1
        elif event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == "core_patch":
                patch = json.loads(marker.details["patch-data"].payloads[0].data)["id"]
                patches[patch] = task
            elif marker.marker_name == "core_local_activity" and lookup is None:
                lookup = task
    return lookup is not None and lookup > patches["notices-queue-v1"]
