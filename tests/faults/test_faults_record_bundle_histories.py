"""Histories of a life-event bundle and of a bundled case, for the replay test
(tests/replay), recorded like tests/faults/test_faults_record_histories.py: the run always
replays what it recorded; ``MADOGUCHI_RECORD_HISTORIES=1`` also writes the files:

- ``life-events/bundle-<version>-resurvey-amend.json``: a bundle of three (the 罹災証明書 and
  the 災害見舞金 filed at once, the 被災者生活再建支援金 waiting), the certificate issued
  全壊, the support grant filed from it, a re-survey (大規模半壊) amending it, the grant
  decided and the 見舞金 withdrawn (the certificate's re-survey window keeps it open);
- ``life-events/livelihood-recovery-support-<version>-amended.json``: that support grant's
  case: filed by the bundle, assessed, amended back to review, assessed and approved.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from tests.support import bundles
from tests.support.stack import eventually
from workflows.campaign import CampaignWorkflow
from workflows.life_event import LifeEventWorkflow, member_application_id
from workflows.procedure import ProcedureWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "replay" / "histories"
RECORD = os.environ.get("MADOGUCHI_RECORD_HISTORIES") == "1"


async def _keep(client, workflow_id: str, name: str) -> WorkflowHistory:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    replayer = Replayer(workflows=[ProcedureWorkflow, CampaignWorkflow, LifeEventWorkflow],
                        data_converter=client.data_converter)
    await replayer.replay_workflow(history)
    if RECORD:
        target = HISTORIES / "life-events" / f"{name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(history.to_json(), encoding="utf-8")
    return history


async def _case(client, case_id: str):
    try:
        return await client.get_workflow_handle(case_id).query(ProcedureWorkflow.view)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None  # the bundle has not started it yet
        raise


async def test_bundle_with_a_resurvey_amending_its_dependent(dev_env, dev_registry, stack_on,
                                                             catalog):
    async with stack_on(dev_env.client, adapters=dev_registry.adapters()) as stack:
        client = stack.client
        start = bundles.start_bundle(catalog)
        handle = await bundles.start(client, start, stack.task_queue)
        cert, condolence, support = (member_application_id(start.bundle_id, p) for p in (
            "disaster-certificate", "disaster-condolence-money",
            "livelihood-recovery-support"))
        await eventually(lambda: _case(client, cert))
        await bundles.certify(client, cert, 55)
        await eventually(lambda: _case(client, support))
        await bundles.act(client, support, "assess")
        await bundles.act(client, cert, "request_resurvey", actor=bundles.RESIDENT,
                          comment="2階の被害")
        await bundles.survey(client, cert, 45)

        async def amended():
            case = await _case(client, support)
            return case if case and case.amendments == 1 else None

        await eventually(amended)
        await bundles.act(client, support, "assess")
        await bundles.act(client, support, "approve", actor=bundles.APPROVER)
        await eventually(lambda: _case(client, condolence))
        await bundles.act(client, condolence, "withdraw", actor=bundles.RESIDENT)

        async def reported():
            view = await handle.query(LifeEventWorkflow.view)
            statuses = {m.procedure: m.status for m in view.members}
            return view if statuses == {"disaster-certificate": "awaiting_applicant",
                                        "disaster-condolence-money": "withdrawn",
                                        "livelihood-recovery-support": "completed"} else None

        view = await eventually(reported)
        assert view.status == "open"  # the certificate's re-survey window is still open
        case = await _case(client, support)
        assert case.status == "completed" and case.data["damage_grade"] == "large_scale_half"
        version = start.definition.version
        bundle_history = await _keep(client, start.bundle_id,
                                     f"bundle-{version}-resurvey-amend")
        names = [e.WhichOneof("attributes") for e in bundle_history.events]
        assert names.count("start_child_workflow_execution_initiated_event_attributes") == 3
        assert names.count("workflow_execution_signaled_event_attributes") >= 5
        pinned = catalog.get("livelihood-recovery-support").definition.version
        case_history = await _keep(client, support,
                                   f"livelihood-recovery-support-{pinned}-amended")
        assert any(e.HasField("workflow_execution_signaled_event_attributes")
                   and e.workflow_execution_signaled_event_attributes.signal_name == "amend"
                   for e in case_history.events)
