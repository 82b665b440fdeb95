"""The baseline of the engine-overhead benchmark: a bare Temporal workflow.

``BareWorkflow`` does what a 罹災証明書 case does in Temporal terms and nothing more: the
申請控え (application copy), the ``submitted`` notice, three caseworker steps as Updates
(each upserting the stage search attribute, as the case does), the certificate, the
``issued`` notice. With
``real_activities`` it calls madoguchi's own ``deliver_notice`` and ``issue_document``
activities on their task queues (served by the same worker process), so the difference to a
real case is the engine: HTTP API, token checks, form validation, the procedure
interpreter, queries, payload sizes. Without, it calls a no-op activity: the Temporal floor.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes as sa
    from workflows.models import DocumentRef, IssueDocumentInput, NoticeInput

BARE_QUEUE_SUFFIX = "-bare"
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


class BareInput(BaseModel):
    notices: list[NoticeInput]  # [submitted, issued]
    copy_on_submit: IssueDocumentInput | None = None  # the 申請控え, before the receipt
    document: IssueDocumentInput
    steps: int = 3
    real_activities: bool = True
    notices_queue: str
    documents_queue: str


@activity.defn(name="bench_noop")
async def noop(argument: str) -> str:
    return argument


@workflow.defn
class BareWorkflow:
    @workflow.init
    def __init__(self, start: BareInput) -> None:
        self._steps = 0

    @workflow.run
    async def run(self, start: BareInput) -> str:
        if start.copy_on_submit is not None:
            await self._issue(start, start.copy_on_submit)
        await self._notice(start, start.notices[0])
        await workflow.wait_condition(lambda: self._steps >= start.steps)
        document_id = await self._issue(start, start.document)
        await self._notice(start, start.notices[1])
        return document_id

    async def _issue(self, start: BareInput, document: IssueDocumentInput) -> str:
        if not start.real_activities:
            return await workflow.execute_activity(
                noop, document.document_id, start_to_close_timeout=timedelta(seconds=30)
            )
        ref = await workflow.execute_activity(
            "issue_document",
            document,
            result_type=DocumentRef,
            task_queue=start.documents_queue,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=_RETRY,
        )
        return ref.id

    async def _notice(self, start: BareInput, notice: NoticeInput) -> None:
        if start.real_activities:
            await workflow.execute_activity(
                "deliver_notice",
                notice,
                task_queue=start.notices_queue,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_RETRY,
            )
        else:
            await workflow.execute_activity(
                noop, notice.key, start_to_close_timeout=timedelta(seconds=30)
            )

    @workflow.update
    def step(self, stage: str) -> int:
        self._steps += 1
        workflow.upsert_search_attributes([sa.STAGE.value_set(stage)])
        return self._steps
