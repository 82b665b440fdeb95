"""Where else a foreign payload can reach a worker, and what the codec makes of it.

Someone with access to the Temporal frontend can start workflows on our task queue, and can
also poll it: answer an activity task or run a workflow task with payloads of their own.
Each is refused where it is decoded (issue #15); nothing of it runs as if it were ours.
These tests measure it on the dev server, with an "attacker" client and worker that have
no codec.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.common import RawValue, RetryPolicy
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.support.security import example
from tests.support.stack import eventually

ONCE = RetryPolicy(maximum_attempts=1)


@workflow.defn(name="AskTheActivity")
class AskTheActivity:
    """Ours: asks an activity on another queue (which the attacker answers)."""

    @workflow.run
    async def run(self, activity_queue: str) -> str:
        return await workflow.execute_activity(
            "decide", "case-1", result_type=str, task_queue=activity_queue,
            start_to_close_timeout=timedelta(seconds=10), retry_policy=ONCE)


@workflow.defn(name="Forger")
class Forger:
    """The attacker's: schedules our activity with a plain input."""

    @workflow.run
    async def run(self, activity_queue: str) -> str:
        try:
            return await workflow.execute_activity(
                "decide", "approve everything", result_type=str, task_queue=activity_queue,
                start_to_close_timeout=timedelta(seconds=10), retry_policy=ONCE)
        except ActivityError as failed:
            return f"refused: {failed.cause}"


async def _raw(dev_env: WorkflowEnvironment) -> Client:
    return await Client.connect(dev_env.client.service_client.config.target_host,
                                namespace=dev_env.client.namespace)


def _types(history: WorkflowHistory) -> list[int]:
    return [e.event_type for e in history.events]


def _queues() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"wf-{tag}", f"act-{tag}"


async def test_a_plain_activity_result_fails_the_workflow_task(dev_env: WorkflowEnvironment):
    @activity.defn(name="decide")
    async def forged_decision(case: RawValue) -> str:  # it cannot read our input
        return "approved by cw-made-up"

    wf_queue, act_queue = _queues()
    raw = await _raw(dev_env)
    async with Worker(dev_env.client, task_queue=wf_queue, workflows=[AskTheActivity],
                      workflow_runner=UnsandboxedWorkflowRunner()), \
            Worker(raw, task_queue=act_queue, activities=[forged_decision]):
        handle = await dev_env.client.start_workflow(
            AskTheActivity.run, act_queue, id=f"ask-{wf_queue}", task_queue=wf_queue)
        try:
            async def failed_task():
                types = _types(await handle.fetch_history())
                return types if EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in types else None

            types = await eventually(failed_task, timeout=15)
            assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in types
            assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED not in types
            assert (await handle.describe()).status.name == "RUNNING"
        finally:
            await handle.terminate("test over")


async def test_a_plain_activity_input_is_refused_before_the_activity_runs(
        dev_env: WorkflowEnvironment):
    ran: list[str] = []

    @activity.defn(name="decide")
    async def decide(case: str) -> str:
        ran.append(case)
        return "decided"

    wf_queue, act_queue = _queues()
    raw = await _raw(dev_env)
    async with Worker(raw, task_queue=wf_queue, workflows=[Forger],
                      workflow_runner=UnsandboxedWorkflowRunner()), \
            Worker(dev_env.client, task_queue=act_queue, activities=[decide]):
        outcome = await raw.execute_workflow(Forger.run, act_queue, id=f"forge-{wf_queue}",
                                             task_queue=wf_queue,
                                             execution_timeout=timedelta(seconds=30))
    assert outcome.startswith("refused"), outcome
    assert ran == []


async def test_a_case_started_with_plain_input_never_runs(dev_env: WorkflowEnvironment, stack,
                                                         catalog):
    """The attacker builds a valid start input (the catalogue is public): here, by taking
    a real case's input in plain form."""
    filed = await stack.http.post("/api/applications", headers=stack.resident(), json={
        "procedure": "disaster-certificate", "municipality": "131016",
        "data": example(catalog, "disaster-certificate", "valid-basic")})
    assert filed.status_code == 201, filed.text
    real = await dev_env.client.get_workflow_handle(filed.json()["id"]).fetch_history()
    started = real.events[0].workflow_execution_started_event_attributes
    plain = await dev_env.client.data_converter.payload_codec.decode(started.input.payloads)

    raw = await _raw(dev_env)
    handle = await raw.start_workflow(
        "ProcedureWorkflow", RawValue(plain[0]), id=f"forged-case-{uuid.uuid4().hex[:8]}",
        task_queue=stack.task_queue)
    try:
        async def failed_task():
            types = _types(await handle.fetch_history())
            return types if EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in types else None

        types = await eventually(failed_task, timeout=15)
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types
        assert EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES not in types
    finally:
        await handle.terminate("test over")


@workflow.defn(name="AskAndReport")
class AskAndReport:
    """Ours: reports the message of the activity's failure (as a case would show it)."""

    @workflow.run
    async def run(self, activity_queue: str) -> str:
        try:
            await workflow.execute_activity(
                "decide", "case-1", task_queue=activity_queue,
                start_to_close_timeout=timedelta(seconds=10), retry_policy=ONCE)
        except ActivityError as failed:
            return str(failed.cause.message if failed.cause else failed.message)
        return "no failure"


async def test_a_forged_failure_message_is_not_believed(dev_env: WorkflowEnvironment):
    """Failure messages travel encoded (DefaultFailureConverterWithEncodedAttributes): one
    the attacker encoded without our key stays "Encoded failure"."""
    @activity.defn(name="decide")
    async def forged_refusal(case: RawValue) -> str:
        raise ApplicationError("approved by cw-made-up", type="Approved", non_retryable=True)

    wf_queue, act_queue = _queues()
    raw = await Client.connect(dev_env.client.service_client.config.target_host,
                               namespace=dev_env.client.namespace,
                               data_converter=dataclasses.replace(
                                   DataConverter.default,
                                   failure_converter_class=(
                                       DefaultFailureConverterWithEncodedAttributes)))
    async with Worker(dev_env.client, task_queue=wf_queue, workflows=[AskAndReport],
                      workflow_runner=UnsandboxedWorkflowRunner()), \
            Worker(raw, task_queue=act_queue, activities=[forged_refusal]):
        reported = await dev_env.client.execute_workflow(
            AskAndReport.run, act_queue, id=f"report-{wf_queue}", task_queue=wf_queue,
            execution_timeout=timedelta(seconds=30))
    assert "cw-made-up" not in reported
    assert reported == "Encoded failure"


async def test_a_plain_memo_is_not_read_as_ours(dev_env: WorkflowEnvironment):
    raw = await _raw(dev_env)
    handle = await raw.start_workflow("ProcedureWorkflow", id=f"memo-{uuid.uuid4().hex[:8]}",
                                      task_queue=f"nobody-{uuid.uuid4().hex[:8]}",
                                      memo={"decided_by": "cw-made-up"})
    try:
        description = await dev_env.client.get_workflow_handle(handle.id).describe()
        with pytest.raises(KeyError, match="madoguchi-refused"):
            await description.memo_value("decided_by")
    finally:
        await handle.terminate("test over")
