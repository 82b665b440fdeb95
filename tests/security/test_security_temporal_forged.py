"""Issue #15 finding 1: decisions forged through the Temporal frontend.

Anyone who reaches the frontend can send Updates and Signals with payloads of their own.
Without our codec those payloads are plain JSON; the worker must refuse them (only what is
encrypted with a known key is ours), leave the case or campaign unchanged, and keep
working for the legitimate client afterwards.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment

from identity.devissuer import DEV_RESIDENT_ISSUER
from tests.support.security import example
from tests.support.stack import eventually
from workflows.models import CampaignFiling

APPS = "/api/applications"
MUNICIPALITY = "131016"
MADE_UP = {"kind": "caseworker", "subject": "cw-made-up", "municipalities": [MUNICIPALITY],
           "roles": ["reviewer", "surveyor", "approver"]}


async def _raw_client(dev_env: WorkflowEnvironment) -> Client:
    """What an attacker on the network has: the frontend address, no codec, no keys."""
    return await Client.connect(dev_env.client.service_client.config.target_host,
                                namespace=dev_env.client.namespace)


async def _file(stack, catalog) -> str:
    filed = await stack.http.post(APPS, headers=stack.resident("forge-r", "被害 太郎"), json={
        "procedure": "disaster-certificate", "municipality": MUNICIPALITY,
        "data": example(catalog, "disaster-certificate", "valid-basic")})
    assert filed.status_code == 201, filed.text
    return filed.json()["id"]


async def test_an_unencrypted_act_update_is_refused_and_the_case_is_unchanged(
        dev_env: WorkflowEnvironment, stack, catalog, caplog):
    app_id = await _file(stack, catalog)
    proper = stack.client.get_workflow_handle(app_id)
    before = await proper.query("view")
    raw = (await _raw_client(dev_env)).get_workflow_handle(app_id)

    caplog.set_level(logging.WARNING, logger="workflows.codec")
    with pytest.raises(WorkflowUpdateFailedError):
        await raw.execute_update("act", {"action": "accept", "actor": MADE_UP},
                                 result_type=RawValue)
    # A payload that claims to be encrypted but is not (random bytes under a known key id).
    forged = Payload(metadata={"encoding": b"binary/encrypted", "encryption-key-id": b"k1"},
                     data=os.urandom(64))
    with pytest.raises(WorkflowUpdateFailedError):
        await raw.execute_update("act", RawValue(forged), result_type=RawValue)
    refusals = [r for r in caplog.records if r.name == "workflows.codec"]
    assert refusals, "the refusal is logged"
    assert all("被害" not in r.getMessage() and "cw-made-up" not in r.getMessage()
               for r in refusals), "no payload content in the log"

    after = await proper.query("view")
    assert after == before, "the forged decision changed nothing"
    assert "cw-made-up" not in str(after)

    accepted = await stack.http.post(f"{APPS}/{app_id}/actions", json={"action": "accept"},
                                     headers=stack.caseworker("cw-real"))
    assert accepted.status_code == 200, accepted.text
    timeline = accepted.json()["timeline"]
    assert [e["actor"] for e in timeline if e["event"] == "accept"] == ["cw-real"]


async def test_an_unencrypted_signal_is_dropped_and_the_campaign_continues(
        dev_env: WorkflowEnvironment, stack):
    admin = stack.caseworker("cw-forge-admin", roles="admin")
    now = datetime.now(UTC)
    opened = await stack.http.post("/api/campaigns", headers=admin, json={
        "procedure": "childcare-status", "municipality": MUNICIPALITY,
        "period": f"forge-{os.urandom(3).hex()}",
        "opens_at": (now + timedelta(days=1)).isoformat(),
        "closes_at": (now + timedelta(days=30)).isoformat(),
        "targets": [{"issuer": DEV_RESIDENT_ISSUER, "subject": "forge-parent"}]})
    assert opened.status_code == 201, opened.text
    campaign_id = opened.json()["campaign_id"]
    stack.started.append(campaign_id)
    proper = stack.client.get_workflow_handle(campaign_id)
    try:
        raw = (await _raw_client(dev_env)).get_workflow_handle(campaign_id)
        await raw.signal("filed", {"applicant_key": "forged-key", "application_id": "forged"})

        # The signal is in history; the worker has processed it once the next legitimate
        # one shows up in the view (signals are delivered in order).
        await proper.signal("filed", CampaignFiling(applicant_key="real-key",
                                                    application_id="real"))

        async def both_seen():
            view = await proper.query("view")
            return view if view["filed"] >= 1 else None

        view = await eventually(both_seen)
        assert view["filings"] == {"real-key": "real"}
        description = await proper.describe()
        assert description.raw_description.pending_workflow_task.attempt <= 1, \
            "no workflow task is failing over and over"
    finally:
        await proper.terminate("test over")
