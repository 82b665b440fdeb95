"""Filing campaigns (e.g. the annual 現況届): opened by a municipality's administrator; a
campaign procedure is filed only while its campaign is open."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jsonpointer
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from forms.packages import Procedure
from identity.principals import Caseworker
from services.catalogue import CatalogueService
from services.keys import ApplicantKeys
from services.queues import safe_id
from services.refusals import Refused
from workflows import search_attributes as sa
from workflows.campaign import CampaignInput, CampaignView, CampaignWorkflow, campaign_id
from workflows.models import DEFAULT_TASK_QUEUE


class CampaignService:
    def __init__(self, client: Client, *, catalogue: CatalogueService, keys: ApplicantKeys,
                 task_queue: str) -> None:
        self._client = client
        self._catalogue = catalogue
        self._keys = keys
        self._task_queue = task_queue
        # The default installation keeps plain ids; others sharing a namespace are prefixed.
        self._scope = "" if task_queue == DEFAULT_TASK_QUEUE else f"{task_queue}."

    async def open(
        self, caseworker: Caseworker, procedure_id: str, municipality: str, period: str,
        opens_at: datetime, closes_at: datetime, targets: list[tuple[str, str]],
    ) -> CampaignView:
        """Start a campaign; ``targets`` are (issuer, subject) pairs of the residents who must
        file, as the municipality's resident register links them to their eID."""
        if "admin" not in caseworker.roles or not caseworker.can_act_for(municipality):
            raise Refused("forbidden", "admin_only", "受付期間の設定は管理者のみ行えます。",
                          "Only an administrator of this municipality can open a campaign.")
        procedure = self._catalogue.procedure(procedure_id)
        self._catalogue.municipality(municipality)
        if procedure.definition.campaign is None:
            raise Refused("invalid", "not_a_campaign", "この手続きは受付期間を設けません。",
                          "This procedure has no filing campaigns.")
        if not (opens_at.tzinfo and closes_at.tzinfo) or closes_at <= opens_at:
            raise Refused("invalid", "invalid_period",
                          "受付期間の開始と終了を正しく入力してください。",
                          "The campaign must close after it opens (times with a time zone).")
        identifier = campaign_id(municipality, procedure_id, period, scope=self._scope)
        start = CampaignInput(
            campaign_id=identifier, municipality=municipality, procedure=procedure_id,
            procedure_version=procedure.definition.version, period=period, opens_at=opens_at,
            closes_at=closes_at,
            remind_before_days=procedure.definition.campaign.remind_before_days,
            targets=sorted({self._keys.of_subject(issuer, subject)
                            for issuer, subject in targets}),
        )
        try:
            handle = await self._client.start_workflow(
                CampaignWorkflow.run, start, id=identifier, task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes([
                    SearchAttributePair(sa.MUNICIPALITY, municipality),
                    SearchAttributePair(sa.PROCEDURE, procedure_id),
                ]),
            )
        except WorkflowAlreadyStartedError as exc:
            raise Refused("conflict", "duplicate_campaign",
                          "この期間の受付はすでに設定されています。",
                          "A campaign for this period already exists.",
                          details={"existing_campaign": identifier}) from exc
        return await handle.query(CampaignWorkflow.view)

    async def find(self, identifier: str) -> CampaignView | None:
        if not safe_id(identifier):
            return None
        try:
            handle = self._client.get_workflow_handle_for(CampaignWorkflow.run, identifier)
            return await handle.query(CampaignWorkflow.view)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                return None
            raise

    async def read(self, caseworker: Caseworker, identifier: str) -> CampaignView:
        """Who has filed and who has been reminded (caseworkers of its municipality)."""
        view = await self.find(identifier)
        if view is None or not caseworker.can_act_for(view.municipality):
            raise Refused("not_found", "not_found", "受付期間が見つかりません。",
                          "Campaign not found.")
        return view

    async def open_for(self, procedure: Procedure, municipality: str,
                       data: dict[str, Any]) -> str | None:
        """The open campaign a filing belongs to; a campaign procedure outside one is refused."""
        rule = procedure.definition.campaign
        if rule is None:
            return None
        period = str(jsonpointer.resolve_pointer(data, rule.period_field, ""))
        view = await self.find(campaign_id(municipality, procedure.definition.id, period,
                                           scope=self._scope))
        if view is None or view.status != "open":
            raise Refused(
                "conflict", "campaign_not_open",
                "いまは受付期間ではありません。市区町村からのお知らせを確認してください。",
                "This procedure is not open for filing now. "
                "Check your municipality's notice for the filing period.",
                details={"period": period})
        return view.campaign_id
