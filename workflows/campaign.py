"""``CampaignWorkflow``: an annual filing campaign such as the childcare 現況届.

The municipality opens a campaign for a period (e.g. fiscal year 2026) with the residents
who must file. The campaign tells them when it opens, reminds those who have not filed
before it closes, and refuses nothing itself: each filing is its own ``ProcedureWorkflow``,
which signals the campaign when it starts. Its id is derived from municipality, procedure
and period, so one period has one campaign.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.models import BatchNoticeInput, CampaignFiling, NoticeInput
    from workflows.procedure import NOTICES_QUEUE_SUFFIX, jst_date

BATCH_NOTICE_ACTIVITY = "deliver_notices"
NOTICE_BATCH = 200


def campaign_id(municipality: str, procedure: str, period: str, *, scope: str = "") -> str:
    """One campaign per municipality, procedure and period — per installation: ``scope``
    keeps installations that share a Temporal namespace (by task queue) apart."""
    return f"{scope}campaign-{municipality}-{procedure}-{period}"


class CampaignInput(BaseModel):
    campaign_id: str
    municipality: str
    procedure: str
    procedure_version: str
    period: str
    opens_at: datetime
    closes_at: datetime
    remind_before_days: list[int] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list, description="applicant keys")


class CampaignView(BaseModel):
    campaign_id: str
    municipality: str
    procedure: str
    period: str
    opens_at: datetime
    closes_at: datetime
    status: Literal["scheduled", "open", "closed"]
    targets: int
    filed: int
    filings: dict[str, str]  # applicant key -> application id
    not_filed: list[str]  # applicant keys (opaque)
    reminders_sent: list[int]


@workflow.defn
class CampaignWorkflow:
    @workflow.init
    def __init__(self, start: CampaignInput) -> None:
        self._start = start
        self._status: Literal["scheduled", "open", "closed"] = "scheduled"
        self._filings: dict[str, str] = {}
        self._reminders_sent: list[int] = []

    @workflow.run
    async def run(self, start: CampaignInput) -> CampaignView:
        await self._sleep_until(start.opens_at)
        self._status = "open"
        await self._tell_non_filers("campaign_opened", "open")
        for days in sorted(set(start.remind_before_days), reverse=True):
            moment = start.closes_at - timedelta(days=days)
            if moment <= workflow.now():
                continue  # opened late: reminders already past are not sent
            await self._sleep_until(moment)
            await self._tell_non_filers("campaign_reminder", str(days),
                                        due_date=jst_date(start.closes_at))
            self._reminders_sent.append(days)
        await self._sleep_until(start.closes_at)
        self._status = "closed"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()

    @workflow.signal
    def filed(self, filing: CampaignFiling) -> None:
        self._filings.setdefault(filing.applicant_key, filing.application_id)

    @workflow.query
    def view(self) -> CampaignView:
        start = self._start
        return CampaignView(
            campaign_id=start.campaign_id, municipality=start.municipality,
            procedure=start.procedure, period=start.period, opens_at=start.opens_at,
            closes_at=start.closes_at, status=self._status, targets=len(start.targets),
            filed=len(self._filings), filings=dict(self._filings),
            not_filed=self._not_filed(), reminders_sent=list(self._reminders_sent),
        )

    def _not_filed(self) -> list[str]:
        return [key for key in self._start.targets if key not in self._filings]

    async def _sleep_until(self, moment: datetime) -> None:
        delay = moment - workflow.now()
        if delay > timedelta(0):
            await workflow.sleep(delay)

    async def _tell_non_filers(self, event: str, round_name: str, **params: str) -> None:
        start = self._start
        recipients = self._not_filed()
        if not recipients:
            return
        notices = [
            NoticeInput(
                key=f"{start.campaign_id}:{event}:{round_name}:{key}",
                application_id=start.campaign_id, procedure=start.procedure,
                procedure_version=start.procedure_version, event=event,
                recipient=f"applicant:{key}", created_at=workflow.now(),
                params={"application_id": start.campaign_id, **params},
            )
            for key in recipients
        ]
        # Batches keep each history event small, however many residents must file.
        for first in range(0, len(notices), NOTICE_BATCH):
            await workflow.execute_activity(
                BATCH_NOTICE_ACTIVITY,
                BatchNoticeInput(notices=notices[first:first + NOTICE_BATCH]),
                result_type=int, start_to_close_timeout=timedelta(minutes=5),
                task_queue=workflow.info().task_queue + NOTICES_QUEUE_SUFFIX,
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=10)),
            )
