"""The workers, by task queue, so each kind of work scales on its own.

- ``cases`` (``<queue>``): the workflows, and the cheap read of which notice channels apply.
- ``documents`` (``<queue>-documents``): rendering and sealing, CPU-heavy: a burst of
  certificates never delays intake or caseworker decisions.
- ``notices`` (``<queue>-notices``): e-mail, Web Push, webhooks, inbox: a slow SMTP relay
  never delays a case either.

One process may run all three (``all``, what ``madoguchi up`` does) or one pool each.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import Client
from temporalio.worker import Worker

from workflows.activities import CaseActivities
from workflows.campaign import CampaignWorkflow
from workflows.life_event import LifeEventWorkflow
from workflows.models import DEFAULT_TASK_QUEUE
from workflows.procedure import DOCUMENTS_QUEUE_SUFFIX, NOTICES_QUEUE_SUFFIX, ProcedureWorkflow

GRACEFUL_SHUTDOWN = timedelta(seconds=30)
Queue = Literal["cases", "documents", "notices", "all"]


def build_workers(
    client: Client,
    activities: CaseActivities,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    executor: concurrent.futures.Executor,
    queue: Queue = "all",
    document_slots: int = 2,
    interceptors: Sequence[Any] = (),
    graceful_shutdown: timedelta = GRACEFUL_SHUTDOWN,
) -> list[Worker]:
    """The workers one process runs for ``queue`` on ``task_queue`` and its siblings."""
    common: dict[str, Any] = {"activity_executor": executor, "interceptors": list(interceptors),
                              "graceful_shutdown_timeout": graceful_shutdown}
    workers = []
    if queue in ("cases", "all"):
        workers.append(Worker(client, task_queue=task_queue,
                              workflows=[ProcedureWorkflow, CampaignWorkflow,
                                         LifeEventWorkflow],
                              # Cases started before the notices pool existed deliver here.
                              activities=[activities.notice_channels, activities.deliver_notice,
                                          activities.purge_case, activities.revoke_document,
                                          activities.prepare_dependent_filing,
                                          activities.record_milestones],
                              **common))
    if queue in ("documents", "all"):
        workers.append(Worker(client, task_queue=task_queue + DOCUMENTS_QUEUE_SUFFIX,
                              activities=[activities.issue_document],
                              max_concurrent_activities=document_slots, **common))
    if queue in ("notices", "all"):
        workers.append(Worker(client, task_queue=task_queue + NOTICES_QUEUE_SUFFIX,
                              activities=[activities.deliver_notice, activities.deliver_notices],
                              **common))
    return workers
