"""Histories of every procedure, for the replay test of future workflow code (tests/replay).

Each journey runs against the dev server with the committed test payload key
(tests/fixtures/payload-keys.json, the ``stack`` fixture's), so the recorded payloads are
encrypted and tests/replay can decode them. The run always replays what it recorded;
``MADOGUCHI_RECORD_HISTORIES=1`` also writes the files:

- ``disaster-certificate-<version>-resurvey.json``: 補正, survey, approval, issue, then a
  再調査 (re-survey) and a second certificate that supersedes the first (from 1.2.0 also
  the 申請控え on filing and after the correction);
- ``sme-telework-grant-<version>-final-amount.json``: 交付決定, 実績報告 with a 補正 of
  the report, 額の確定;
- ``childcare-status-<version>-campaign-filing.json``: a 現況届 filed in an open campaign
  (the case signals the campaign), certified; the campaign's own history goes to
  ``campaign/`` (the replay test replays ProcedureWorkflow histories only).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from identity.devissuer import DEV_RESIDENT_ISSUER
from tests.support.stack import documents_of, eventually
from workflows.campaign import CampaignWorkflow
from workflows.procedure import ProcedureWorkflow

APPS = "/api/applications"
HISTORIES = Path(__file__).resolve().parents[1] / "replay" / "histories"
RECORD = os.environ.get("MADOGUCHI_RECORD_HISTORIES") == "1"


def _example(catalog, procedure: str, name: str) -> dict[str, Any]:
    directory = catalog.get(procedure).directory / "examples"
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


async def _steps(stack, app_id: str, steps: list[tuple[dict, str, dict]]) -> None:
    for who, action, body in steps:
        reply = await stack.http.post(
            f"{APPS}/{app_id}/actions", json={"action": action, **body}, headers=who
        )
        assert reply.status_code == 200, (action, reply.text)


async def _documents(stack, app_id: str, headers: dict, count: int, kind: str = "") -> dict:
    """The case once ``count`` documents (of ``kind``, if given) are issued."""

    async def check():
        body = (await stack.http.get(f"{APPS}/{app_id}", headers=headers)).json()
        docs = documents_of(body, kind) if kind else body["documents"]
        return body if len(docs) >= count and body["status"] != "issuing" else None

    return await eventually(check)


async def _keep(stack, workflow_id: str, name: str) -> WorkflowHistory:
    """Replay the history now (both workflow types) and, when recording, write it."""
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    replayer = Replayer(
        workflows=[ProcedureWorkflow, CampaignWorkflow],
        data_converter=stack.client.data_converter,
    )
    await replayer.replay_workflow(history)
    if RECORD:
        target = HISTORIES / f"{name}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(history.to_json(), encoding="utf-8")
    return history


async def test_disaster_certificate_with_resurvey(stack, catalog):
    resident = stack.resident("rec-1", "記録 一郎")
    surveyor, approver = stack.caseworker("cw-1"), stack.caseworker("cw-2", roles="approver")
    data = _example(catalog, "disaster-certificate", "valid-basic")
    created = await stack.http.post(
        APPS,
        json={"procedure": "disaster-certificate", "municipality": "131016", "data": data},
        headers=resident,
    )
    assert created.status_code == 201, created.text
    app_id, version = created.json()["id"], created.json()["procedure_version"]
    await _steps(
        stack,
        app_id,
        [
            (surveyor, "claim", {}),
            (surveyor, "request_correction", {"comment": "電話番号を確認してください"}),
            (resident, "submit_correction", {"data": data}),
            (surveyor, "accept", {}),
            (surveyor, "survey", {"data": {"damage_ratio": 35, "surveyed_on": "2026-10-02"}}),
            (approver, "approve", {}),
        ],
    )
    await _documents(stack, app_id, resident, 1, "certificate")
    await _steps(
        stack,
        app_id,
        [
            (resident, "request_resurvey", {"comment": "2階の被害が調査されていません。"}),
            (surveyor, "survey", {"data": {"damage_ratio": 45, "surveyed_on": "2026-11-02"}}),
            (approver, "approve", {}),
        ],
    )
    final = await _documents(stack, app_id, resident, 2, "certificate")
    assert final["computed"]["damage_grade"]["code"] == "large_scale_half"
    history = await _keep(stack, app_id, f"disaster-certificate-{version}-resurvey")
    assert (
        sum(
            1
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.activity_type.name == "issue_document"
        )
        == 4  # 申請控え on filing and after the correction, two certificates
    )


async def test_sme_grant_through_the_final_amount(stack, catalog):
    owner = stack.resident("rec-2", "記録 二郎")
    reviewer = stack.caseworker("cw-1", roles="reviewer,approver")
    approver = stack.caseworker("cw-2", roles="approver")
    created = await stack.http.post(
        APPS,
        json={
            "procedure": "sme-telework-grant",
            "municipality": "131016",
            "data": _example(catalog, "sme-telework-grant", "valid-sole-proprietor"),
        },
        headers=owner,
    )
    assert created.status_code == 201, created.text
    app_id, version = created.json()["id"], created.json()["procedure_version"]
    report = {
        "completed_on": "2027-02-20",
        "summary": "ノートPCを2台導入し、在宅勤務を週3日実施した。",
        "teleworkers": 2,
        "expenses": [
            {
                "category": "equipment",
                "description": "ノートPC 2台",
                "amount": 280000,
                "receipt_no": "R-2027-0012",
            }
        ],
    }
    await _steps(stack, app_id, [(reviewer, "accept", {}), (approver, "decide_grant", {})])
    await _documents(stack, app_id, owner, 1)
    await _steps(
        stack,
        app_id,
        [
            (owner, "submit_report", {"data": report}),
            (reviewer, "request_correction", {"comment": "領収書の金額を確認してください。"}),
            (owner, "submit_correction", {"data": report}),
            (reviewer, "confirm_amount", {}),
        ],
    )
    final = await _documents(stack, app_id, owner, 2)
    assert final["status"] == "completed"
    await _keep(stack, app_id, f"sme-telework-grant-{version}-final-amount")


async def test_childcare_status_filed_in_a_campaign(stack, catalog):
    admin = stack.caseworker("cw-admin", roles="admin,reviewer")
    filer = stack.resident("rec-parent-1", "記録 美咲")
    now = datetime.now(UTC)
    opened = await stack.http.post(
        "/api/campaigns",
        json={
            "procedure": "childcare-status",
            "municipality": "131016",
            "period": "2026",
            "opens_at": (now + timedelta(seconds=1)).isoformat(),
            "closes_at": (now + timedelta(days=30)).isoformat(),
            "targets": [
                {"issuer": DEV_RESIDENT_ISSUER, "subject": s}
                for s in ("rec-parent-1", "rec-parent-2")
            ],
        },
        headers=admin,
    )
    assert opened.status_code == 201, opened.text
    campaign_id = opened.json()["campaign_id"]

    async def is_open():
        view = (await stack.http.get(f"/api/campaigns/{campaign_id}", headers=admin)).json()
        return view["status"] == "open"

    await eventually(is_open)
    filed = await stack.http.post(
        APPS,
        json={
            "procedure": "childcare-status",
            "municipality": "131016",
            "data": _example(catalog, "childcare-status", "valid-basic"),
        },
        headers=filer,
    )
    assert filed.status_code == 201, filed.text
    app_id, version = filed.json()["id"], filed.json()["procedure_version"]
    await _steps(stack, app_id, [(stack.caseworker("cw-2", roles="reviewer"), "certify", {})])
    final = await _documents(stack, app_id, filer, 1)
    assert final["status"] == "completed"

    async def campaign_knows():
        view = (await stack.http.get(f"/api/campaigns/{campaign_id}", headers=admin)).json()
        return view["filed"] == 1

    await eventually(campaign_knows)
    try:
        await _keep(stack, app_id, f"childcare-status-{version}-campaign-filing")
        await _keep(stack, campaign_id, f"campaign/childcare-status-{version}-campaign")
    finally:
        await stack.client.get_workflow_handle(campaign_id).terminate("recorded")
