"""Running the workers: one for cases (workflows + notices), one for documents.

Documents have their own task queue (``<queue>-documents``) so a burst of certificates
(CPU-heavy rendering) never delays intake or caseworker decisions.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence

from temporalio.client import Client
from temporalio.worker import Worker

from workflows.activities import CaseActivities
from workflows.campaign import CampaignWorkflow
from workflows.procedure import DOCUMENTS_QUEUE_SUFFIX, ProcedureWorkflow

DEFAULT_TASK_QUEUE = "madoguchi-cases"


def build_workers(
    client: Client,
    activities: CaseActivities,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    executor: concurrent.futures.Executor,
    document_slots: int = 2,
) -> Sequence[Worker]:
    """The case worker and the document worker for ``task_queue``."""
    cases = Worker(
        client,
        task_queue=task_queue,
        workflows=[ProcedureWorkflow, CampaignWorkflow],
        activities=[activities.deliver_notice, activities.deliver_notices,
                    activities.notice_channels],
        activity_executor=executor,
    )
    documents = Worker(
        client,
        task_queue=task_queue + DOCUMENTS_QUEUE_SUFFIX,
        activities=[activities.issue_document],
        activity_executor=executor,
        max_concurrent_activities=document_slots,
    )
    return cases, documents
