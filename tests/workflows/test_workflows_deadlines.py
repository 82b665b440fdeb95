"""The legal clock (標準処理期間) and the correction deadline, on the time-skipping server.

The 罹災証明書 procedure: 30 days to decide, a reminder 7 days before, escalation at the
deadline, 14 days for the applicant to answer a correction request.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.support.stack import documents_of
from workflows.procedure import ProcedureWorkflow

APPS = "/api/applications"
JST = timezone(timedelta(hours=9))


def _filing(catalog) -> dict[str, Any]:
    examples = catalog.get("disaster-certificate").directory / "examples"
    data = json.loads((examples / "valid-basic.json").read_text(encoding="utf-8"))
    return {"procedure": "disaster-certificate", "municipality": "131016", "data": data}


async def _file(stack, catalog) -> str:
    reply = await stack.http.post(APPS, json=_filing(catalog), headers=stack.resident())
    assert reply.status_code == 201, reply.text
    stack.started.append(reply.json()["id"])
    return reply.json()["id"]


async def _view(stack, app_id: str) -> dict[str, Any]:
    reply = await stack.http.get(f"{APPS}/{app_id}", headers=stack.caseworker("cw-1"))
    assert reply.status_code == 200, reply.text
    return reply.json()


def _events(view: dict[str, Any]) -> list[str]:
    return [e["event"] for e in view["timeline"]]


async def test_reminder_before_the_deadline_then_escalation(time_env: WorkflowEnvironment,
                                                           time_stack, catalog):
    app_id = await _file(time_stack, catalog)
    await time_env.sleep(timedelta(days=22, hours=23))
    assert "deadline_reminder" not in _events(await _view(time_stack, app_id))

    await time_env.sleep(timedelta(hours=2))  # day 23: 7 days before the deadline
    view = await _view(time_stack, app_id)
    assert "deadline_reminder" in _events(view)
    assert "deadline_escalation" not in _events(view)

    await time_env.sleep(timedelta(days=7))  # day 30 passed
    view = await _view(time_stack, app_id)
    assert _events(view)[-1] == "deadline_escalation"
    assert view["status"] == "in_progress", "escalation does not decide the case"

    notices = time_stack.inbox.for_recipient("municipality:131016")
    assert {n.event for n in notices} == {"deadline_reminder", "deadline_escalation"}
    assert all(n.application_id == app_id for n in notices)
    due = datetime.fromisoformat(view["due_at"]).astimezone(JST).date().isoformat()
    assert all(due in n.body["ja"] for n in notices), "the notice names the deadline"


async def test_a_correction_pauses_the_legal_clock(time_env: WorkflowEnvironment, time_stack,
                                                   catalog):
    app_id = await _file(time_stack, catalog)
    submitted = await _view(time_stack, app_id)
    original_due = submitted["due_at"]
    await time_env.sleep(timedelta(days=10))
    asked = await time_stack.http.post(
        f"{APPS}/{app_id}/actions", headers=time_stack.caseworker("cw-1"),
        json={"action": "request_correction", "comment": "写真を添付してください"})
    assert asked.status_code == 200, asked.text
    assert asked.json()["due_at"] is None, "the clock is paused"

    await time_env.sleep(timedelta(days=10))  # the applicant takes 10 days to answer
    answered = await time_stack.http.post(
        f"{APPS}/{app_id}/actions", headers=time_stack.resident(),
        json={"action": "submit_correction", "data": _filing(catalog)["data"]})
    assert answered.status_code == 200, answered.text

    shift = (datetime.fromisoformat(answered.json()["due_at"])
             - datetime.fromisoformat(original_due))
    assert abs(shift - timedelta(days=10)) < timedelta(minutes=5), shift

    await time_env.sleep(timedelta(days=12))  # day 32: the reminder would have fired unpaused
    assert "deadline_reminder" not in _events(await _view(time_stack, app_id))
    await time_env.sleep(timedelta(days=2))  # day 34 = 40 - 7 + 1
    assert "deadline_reminder" in _events(await _view(time_stack, app_id))


async def test_an_unanswered_correction_closes_the_case(time_env: WorkflowEnvironment,
                                                        time_stack, catalog):
    app_id = await _file(time_stack, catalog)
    asked = await time_stack.http.post(
        f"{APPS}/{app_id}/actions", headers=time_stack.caseworker("cw-1"),
        json={"action": "request_correction", "comment": "本人確認書類が読めません"})
    assert asked.status_code == 200, asked.text

    await time_env.sleep(timedelta(days=13, hours=23))
    assert (await _view(time_stack, app_id))["status"] == "awaiting_correction"
    await time_env.sleep(timedelta(hours=2))
    handle = time_stack.client.get_workflow_handle_for(ProcedureWorkflow.run, app_id)
    result = await handle.query(ProcedureWorkflow.view)
    assert result.status == "closed"
    assert [e.event for e in result.timeline][-1] == "correction_expired"
    assert "deadline_reminder" not in [e.event for e in result.timeline]
    waited = result.timeline[-1].at - result.timeline[-2].at
    assert abs(waited - timedelta(days=14)) < timedelta(minutes=5), waited
    resident_notices = {n.event for n in time_stack.inbox.for_application(app_id)}
    assert "correction_expired" in resident_notices


async def _act(stack, app_id: str, headers: dict[str, str], action: str, **body: Any) -> dict:
    reply = await stack.http.post(f"{APPS}/{app_id}/actions", headers=headers,
                                  json={"action": action, **body})
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_the_performance_report_is_reminded_and_its_deadline_escalated(
        time_env: WorkflowEnvironment, time_stack, catalog):
    examples = catalog.get("sme-telework-grant").directory / "examples"
    data = json.loads((examples / "valid-corporation.json").read_text(encoding="utf-8"))
    owner = time_stack.resident("biz-1", "佐藤 一郎")
    reply = await time_stack.http.post(APPS, headers=owner, json={
        "procedure": "sme-telework-grant", "municipality": "131016", "data": data})
    assert reply.status_code == 201, reply.text
    app_id = reply.json()["id"]
    time_stack.started.append(app_id)
    await _act(time_stack, app_id, time_stack.caseworker("cw-1", roles="reviewer"), "accept")
    decided = await _act(time_stack, app_id, time_stack.caseworker("cw-2", roles="approver"),
                         "decide_grant")
    assert decided["stage"] == "report"

    def reminders() -> list[str]:
        return [n.event for n in time_stack.inbox.for_application(app_id)
                if n.event == "stage_reminder"]

    await time_env.sleep(timedelta(days=149))
    assert "stage_reminder" not in _events(await _view(time_stack, app_id))
    await time_env.sleep(timedelta(days=2))  # 30 days before the 180-day deadline
    assert _events(await _view(time_stack, app_id)).count("stage_reminder") == 1
    await time_env.sleep(timedelta(days=23))  # 7 days before
    assert _events(await _view(time_stack, app_id)).count("stage_reminder") == 2
    await time_env.sleep(timedelta(days=7))
    view = await _view(time_stack, app_id)
    assert _events(view)[-1] == "stage_expired"
    assert view["status"] == "awaiting_applicant", "the municipality decides what follows"
    assert "deadline_escalation" not in _events(view), "the legal clock was stopped"
    told = {n.event for n in time_stack.inbox.for_recipient("municipality:131016")}
    assert "stage_expired" in told
    assert len(reminders()) == 2


async def test_a_certificate_case_completes_when_the_resurvey_window_closes(
        time_env: WorkflowEnvironment, time_stack, catalog):
    app_id = await _file(time_stack, catalog)
    surveyor = time_stack.caseworker("cw-1", roles="reviewer,surveyor")
    await _act(time_stack, app_id, surveyor, "accept")
    await _act(time_stack, app_id, surveyor, "survey",
               data={"damage_ratio": 12, "surveyed_on": "2026-10-01"})
    approved = await _act(time_stack, app_id, time_stack.caseworker("cw-2", roles="approver"),
                          "approve")
    assert approved["stage"] == "issued"
    await time_env.sleep(timedelta(days=89))
    assert (await _view(time_stack, app_id))["status"] == "awaiting_applicant"
    await time_env.sleep(timedelta(days=2))
    view = await _view(time_stack, app_id)
    assert view["status"] == "completed" and view["actions"] == []
    assert [d["type"] for d in view["documents"]] == ["application-copy", "certificate"]


async def test_a_finished_case_is_forgotten_when_its_retention_ends(
        time_env: WorkflowEnvironment, time_stack, catalog):
    app_id = await _file(time_stack, catalog)
    surveyor = time_stack.caseworker("cw-1", roles="reviewer,surveyor")
    await _act(time_stack, app_id, surveyor, "accept")
    await _act(time_stack, app_id, surveyor, "survey",
               data={"damage_ratio": 55, "surveyed_on": "2026-10-01"})
    await _act(time_stack, app_id, time_stack.caseworker("cw-2", roles="approver"), "approve")
    await time_env.sleep(timedelta(days=91))  # the re-survey window closes: completed
    view = await _view(time_stack, app_id)
    assert view["status"] == "completed"
    (doc,) = documents_of(view, "certificate")
    assert (await time_stack.http.get(doc["url"], headers=time_stack.resident())).status_code == 200
    assert time_stack.inbox.for_application(app_id)

    await time_env.sleep(timedelta(days=1827))  # 5 years (文書の保存期間)
    handle = time_stack.client.get_workflow_handle_for(ProcedureWorkflow.run, app_id)
    for _ in range(20):  # the purge activity runs right after the timer
        if (await handle.query(ProcedureWorkflow.view)).purged:
            break
        await time_env.sleep(timedelta(minutes=1))
    assert (await handle.query(ProcedureWorkflow.view)).purged
    assert time_stack.inbox.for_application(app_id) == []
    gone = await time_stack.http.get(doc["url"], headers=time_stack.resident())
    assert gone.status_code == 410 and gone.json()["error"] == "retention_expired"
    status = (await time_stack.http.get(f"/api/documents/{doc['id']}/status")).json()
    assert status["status"] == "valid", "the register keeps the document checkable"
