"""A 罹災証明書 application end to end through the HTTP API, on the real dev server."""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.worker import Replayer

from tests.support.filing import APPS, act, example, filing, issued
from tests.support.stack import documents_of, eventually
from workflows.procedure import ProcedureWorkflow

REPLAY_DIR = Path(__file__).resolve().parents[1] / "replay" / "histories"










async def test_full_journey_correction_survey_four_eyes_and_pdf(stack, catalog, tmp_path):
    http, resident = stack.http, stack.resident()
    reviewer = stack.caseworker("cw-1")  # holds every role: reviewer, surveyor, approver
    approver = stack.caseworker("cw-2", roles="approver")

    created = await http.post(APPS, json=filing(example(catalog)), headers=resident)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    assert created.json()["status"] == "in_progress"
    assert created.json()["stage"] == "intake"
    assert created.json()["actions"] == ["withdraw"]

    async def queued():
        reply = await http.get("/api/queue", params={"stage": "intake"}, headers=reviewer)
        return [row for row in reply.json() if row["id"] == app_id]

    (row,) = await eventually(queued)
    assert row["procedure"] == "disaster-certificate" and row["municipality"] == "131016"

    # 補正: the caseworker asks, the resident answers with amended data.
    refused = await act(http, app_id, reviewer, "request_correction")
    assert refused.status_code == 422 and refused.json()["error"] == "comment_required"
    asked = await act(http, app_id, reviewer, "request_correction",
                      comment="電話番号に誤りがあります。日中につながる番号にしてください。")
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "awaiting_correction"
    assert asked.json()["correction"]["due_at"] is not None
    early = await act(http, app_id, reviewer, "accept")
    assert early.status_code == 409 and early.json()["error"] == "awaiting_correction"

    amended = example(catalog)
    amended["applicant"]["phone"] = "0398765432"
    bad = copy.deepcopy(amended)
    bad["applicant"]["address"]["postal_code"] = "12-34"
    invalid = await act(http, app_id, resident, "submit_correction", data=bad)
    assert invalid.status_code == 422
    assert any(e["path"] == "/applicant/address/postal_code" for e in invalid.json()["details"])
    answered = await act(http, app_id, resident, "submit_correction", data=amended)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "in_progress"
    assert answered.json()["data"]["applicant"]["phone"] == "0398765432"

    accepted = await act(http, app_id, reviewer, "accept")
    assert accepted.status_code == 200 and accepted.json()["stage"] == "survey"

    out_of_range = await act(http, app_id, reviewer, "survey",
                             data={"damage_ratio": 120, "surveyed_on": "2026-10-01"})
    assert out_of_range.status_code == 422
    surveyed = await act(http, app_id, reviewer, "survey",
                         data={"damage_ratio": 42.5, "surveyed_on": "2026-10-01",
                               "notes": "床上浸水、外壁損傷"})
    assert surveyed.status_code == 200, surveyed.text
    assert surveyed.json()["stage"] == "approval"
    assert surveyed.json()["computed"]["damage_grade"]["code"] == "large_scale_half"

    # Four eyes: the surveyor may not approve their own survey.
    own = await act(http, app_id, reviewer, "approve")
    assert own.status_code == 403 and own.json()["error"] == "four_eyes"
    assert own.json()["message"]["ja"]
    approved = await act(http, app_id, approver, "approve")
    assert approved.status_code == 200, approved.text

    final = await eventually(lambda: issued(http, app_id, resident))
    (doc,) = documents_of(final, "certificate")
    # Issued: the case stays open 90 days for a re-survey request (再調査), then completes.
    assert final["status"] == "awaiting_applicant" and final["stage"] == "issued"
    assert final["actions"] == ["request_resurvey"]
    assert all(e["actor"] in (None, "applicant", "system", "municipality")
               for e in final["timeline"]), "residents must not see caseworker ids"
    events = [e["event"] for e in final["timeline"]]
    steps = [e for e in events if e != "issued"]  # the 申請控え are issued in between
    assert steps[:3] == ["submitted", "correction_requested", "correction_submitted"]
    assert events[-1] == "issued"

    pdf = await http.get(doc["url"], headers=resident)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    for expected in ("罹災証明書", "大規模半壊", "山田", "千代田区長", "令和8年台風第15号"):
        assert expected in text, expected
    verdict = await http.post("/api/verify", files={"file": ("c.pdf", pdf.content,
                                                             "application/pdf")})
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["status"] == "valid" and verdict.json()["same_file_as_issued"]
    assert verdict.json()["document"]["holder_masked"] == "山田 ＊＊＊"
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "certificate.pdf").write_bytes(pdf.content)

    stranger = await http.get(doc["url"], headers=stack.resident("someone-else", "他人 花子"))
    assert stranger.status_code == 404

    seen = (await http.get(f"{APPS}/{app_id}", headers=reviewer)).json()
    delivered = {(d["event"], d["channel"]) for d in seen["deliveries"]
                 if d["status"] == "delivered"}
    assert {("submitted", "inbox"), ("issued", "inbox")} <= delivered
    assert final.get("deliveries") == [], "residents do not see the delivery log"
    inbox = (await http.get("/api/inbox", headers=resident)).json()
    notices = {entry["event"] for entry in inbox}
    assert {"submitted", "correction_requested", "issued"} <= notices
    issued_notice = next(e for e in inbox if e["event"] == "issued")
    assert "罹災証明書" in issued_notice["title"]["ja"] + issued_notice["body"]["ja"]


async def test_duplicate_filing_is_refused_with_a_link_to_the_first(stack, catalog):
    resident = stack.resident("dup-1", "重複 太郎")
    first, second = await asyncio.gather(
        stack.http.post(APPS, json=filing(example(catalog)), headers=resident),
        stack.http.post(APPS, json=filing(example(catalog)), headers=resident),
    )
    codes = sorted([first.status_code, second.status_code])
    assert codes == [201, 409], (first.text, second.text)
    winner, loser = (first, second) if first.status_code == 201 else (second, first)
    assert loser.json()["error"] == "duplicate_application"
    assert loser.json()["details"]["existing_application"] == winner.json()["id"]

    other_event = example(catalog)
    other_event["disaster_event"] = "2026-heavy-rain-07"
    third = await stack.http.post(APPS, json=filing(other_event), headers=resident)
    assert third.status_code == 201, "another disaster is another application"


async def test_refusals_401_403_404_422(stack, catalog):
    http = stack.http
    none = await http.post(APPS, json=filing(example(catalog)))
    assert none.status_code == 401 and none.json()["error"] == "unauthenticated"
    assert none.headers["www-authenticate"].startswith("Bearer")
    forged = await http.post(APPS, json=filing(example(catalog)),
                             headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert forged.status_code == 401

    broken = example(catalog)
    del broken["applicant"]["phone"]
    broken["applicant"]["address"]["postal_code"] = "abc"
    invalid = await http.post(APPS, json=filing(broken), headers=stack.resident())
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["error"] == "invalid_data"
    paths = {e["path"] for e in body["details"]}
    assert {"/applicant/phone", "/applicant/address/postal_code"} <= paths
    for error in body["details"]:
        assert error["code"] and error["message"]["ja"] and error["message"]["en"]

    by_caseworker = await http.post(APPS, json=filing(example(catalog)),
                                    headers=stack.caseworker("cw-1"))
    assert by_caseworker.status_code == 403

    unknown = await http.post(APPS, json={**filing(example(catalog)),
                                          "procedure": "no-such-thing"},
                              headers=stack.resident())
    assert unknown.status_code == 404

    created = await http.post(APPS, json=filing(example(catalog)), headers=stack.resident())
    app_id = created.json()["id"]
    elsewhere = stack.caseworker("cw-yokohama", municipality="141003")
    assert (await http.get(f"{APPS}/{app_id}", headers=elsewhere)).status_code == 404
    assert (await act(http, app_id, elsewhere, "accept")).status_code == 404
    other = stack.resident("other-1", "別人 次郎")
    assert (await http.get(f"{APPS}/{app_id}", headers=other)).status_code == 404
    assert (await act(http, app_id, other, "withdraw")).status_code == 404
    by_resident = await act(http, app_id, stack.resident(), "accept")
    assert by_resident.status_code == 403 and by_resident.json()["error"] == "caseworker_only"
    surveyor_only = stack.caseworker("cw-3", roles="surveyor")
    wrong_role = await act(http, app_id, surveyor_only, "accept")
    assert wrong_role.status_code == 403 and wrong_role.json()["error"] == "role_required"
    wrong_stage = await act(http, app_id, stack.caseworker("cw-1"), "approve")
    assert wrong_stage.status_code == 409 and wrong_stage.json()["error"] == "not_available"
    assert (await http.get("/api/queue", headers=stack.resident())).status_code == 403

    async def listed():
        rows = (await http.get(APPS, headers=stack.resident())).json()
        return {row["id"] for row in rows}

    assert await eventually(listed) == {app_id}
    assert (await http.get(APPS, headers=other)).json() == []


async def test_withdrawal_closes_the_case(stack, catalog):
    resident = stack.resident("wd-1", "取下 三郎")
    created = await stack.http.post(APPS, json=filing(example(catalog)), headers=resident)
    app_id = created.json()["id"]
    withdrawn = await act(stack.http, app_id, resident, "withdraw", comment="自分で修理しました")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["actions"] == []
    again = await act(stack.http, app_id, resident, "withdraw")
    assert again.status_code == 409 and again.json()["error"] == "case_closed"
    late = await act(stack.http, app_id, stack.caseworker("cw-1"), "accept")
    assert late.status_code == 409

    handle = stack.client.get_workflow_handle_for(ProcedureWorkflow.run, app_id)
    assert (await handle.query(ProcedureWorkflow.view)).status == "withdrawn"


async def _complete_case(stack, catalog) -> str:
    """File, correct, accept, survey and approve one case; return its id once completed."""
    http, resident = stack.http, stack.resident()
    surveyor, approver = stack.caseworker("cw-1"), stack.caseworker("cw-2", roles="approver")
    app_id = (await http.post(APPS, json=filing(example(catalog)), headers=resident)).json()["id"]
    steps = [
        (surveyor, "claim", {}),
        (surveyor, "request_correction", {"comment": "電話番号を確認してください"}),
        (resident, "submit_correction", {"data": example(catalog)}),
        (surveyor, "accept", {}),
        (surveyor, "survey", {"data": {"damage_ratio": 55, "surveyed_on": "2026-10-02"}}),
        (approver, "approve", {}),
    ]
    for who, action, body in steps:
        reply = await act(http, app_id, who, action, **body)
        assert reply.status_code == 200, (action, reply.text)
    await eventually(lambda: issued(http, app_id, resident))
    return app_id


async def test_history_holds_no_personal_data_in_plain_text(stack, catalog):
    app_id = await _complete_case(stack, catalog)
    raw = await stack.client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=stack.client.namespace,
            execution=WorkflowExecution(workflow_id=app_id)))
    assert raw.history.events, "history must not be empty"
    blob = raw.SerializeToString()
    data = example(catalog)
    person = data["applicant"]
    secrets = [person["name"]["family"], person["name"]["given"], person["name"]["given_kana"],
               person["address"]["street"], person["phone"], person["email"],
               data["damage"]["description"][:10]]
    for secret in secrets:
        assert secret.encode() not in blob, f"{secret!r} is in the raw history"
    # The same history, decoded with the key, does hold the data: the check above is real.
    start = raw.history.events[0].workflow_execution_started_event_attributes
    assert start.input.payloads[0].metadata["encoding"] == b"binary/encrypted"
    handle = stack.client.get_workflow_handle_for(ProcedureWorkflow.run, app_id)
    readable = await handle.query(ProcedureWorkflow.view)
    assert readable.data["applicant"]["phone"] == person["phone"]


async def test_resurvey_after_issue_issues_a_new_certificate(stack, catalog):
    http, resident = stack.http, stack.resident()
    surveyor, approver = stack.caseworker("cw-1"), stack.caseworker("cw-2", roles="approver")
    app_id = await _complete_case(stack, catalog)
    no_reason = await act(http, app_id, resident, "request_resurvey")
    assert no_reason.status_code == 422
    asked = await act(http, app_id, resident, "request_resurvey",
                      comment="2階の被害が調査されていません。")
    assert asked.status_code == 200, asked.text
    assert asked.json()["stage"] == "survey" and asked.json()["status"] == "in_progress"
    async def municipality_told():
        return "resurvey_requested" in {n.event for n in stack.inbox.for_recipient(
            "municipality:131016") if n.application_id == app_id}

    await eventually(municipality_told)
    assert (await act(http, app_id, surveyor, "survey", data={
        "damage_ratio": 45, "surveyed_on": "2026-11-02"})).status_code == 200
    assert (await act(http, app_id, approver, "approve")).status_code == 200
    final = await eventually(lambda: issued(http, app_id, resident, count=2))
    first, second = documents_of(final, "certificate")
    assert first["id"] != second["id"]
    assert final["computed"]["damage_grade"]["code"] == "large_scale_half"
    assert stack.register.get(second["id"]) is not None
    replaced = (await http.get(f"/api/documents/{first['id']}/status")).json()
    assert replaced["status"] == "superseded"
    assert (await http.get(f"/api/documents/{second['id']}/status")).json()["status"] == "valid"


async def test_recorded_history_replays_and_can_be_refreshed(stack, catalog):
    """Replays this run's history now; MADOGUCHI_RECORD_HISTORIES=1 also stores it in
    tests/replay/histories/ for the replay test of future workflow code."""
    app_id = await _complete_case(stack, catalog)
    history = await stack.client.get_workflow_handle(app_id).fetch_history()
    replayer = Replayer(workflows=[ProcedureWorkflow],
                        data_converter=stack.client.data_converter)
    await replayer.replay_workflow(history)
    if os.environ.get("MADOGUCHI_RECORD_HISTORIES") == "1":
        target = REPLAY_DIR / "disaster-certificate-1.0.0-full-journey.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(history.to_json(), encoding="utf-8")


async def test_a_retry_with_the_same_idempotency_key_gets_the_same_application(stack, catalog):
    resident = {**stack.resident("retry-1", "再送 四郎"), "Idempotency-Key": "7f1c-try"}
    first, retry = await asyncio.gather(
        stack.http.post(APPS, json=filing(example(catalog)), headers=resident),
        stack.http.post(APPS, json=filing(example(catalog)), headers=resident),
    )
    assert first.status_code == retry.status_code == 201, (first.text, retry.text)
    assert first.json()["id"] == retry.json()["id"]
    other_request = await stack.http.post(
        APPS, json=filing(example(catalog)), headers={**resident, "Idempotency-Key": "other"})
    assert other_request.status_code == 409
    someone_else = await stack.http.post(
        APPS, json=filing(example(catalog)),
        headers={**stack.resident("retry-2", "別人 五郎"), "Idempotency-Key": "7f1c-try"})
    assert someone_else.status_code == 201
    assert someone_else.json()["id"] != first.json()["id"]


async def test_a_broken_blob_store_holds_the_case_and_the_caseworker_sees_why(stack, catalog):
    http, resident = stack.http, stack.resident("wait-1", "待機 六郎")
    surveyor, approver = stack.caseworker("cw-1"), stack.caseworker("cw-2", roles="approver")
    app_id = (await http.post(APPS, json=filing(example(catalog)), headers=resident)).json()["id"]
    await eventually(lambda: issued(http, app_id, resident, kind="application-copy"))
    for who, action, body in ((surveyor, "accept", {}), (surveyor, "survey", {
            "data": {"damage_ratio": 35, "surveyed_on": "2026-10-02"}}), (approver, "approve", {})):
        assert (await act(http, app_id, who, action, **body)).status_code == 200
    # The blob store's folder cannot be made: every attempt to store the PDF fails.
    stack.blobs.root.parent.mkdir(parents=True, exist_ok=True)
    if stack.blobs.root.exists():
        shutil.rmtree(stack.blobs.root)
    stack.blobs.root.write_text("not a directory")

    async def retrying():
        body = (await http.get(f"{APPS}/{app_id}", headers=surveyor)).json()
        waits = [w for w in body["waiting_on"] if w["activity"] == "issue_document"]
        return waits if waits and waits[0]["attempt"] >= 2 else None

    (waiting,) = await eventually(retrying, timeout=30)
    assert waiting["reason"] and "blob" in waiting["reason"].lower()
    mine = (await http.get(f"{APPS}/{app_id}", headers=resident)).json()
    assert mine["waiting_on"] == [], "residents see no internals"
    assert documents_of(mine, "certificate") == []

    stack.blobs.root.unlink()  # the store is back
    final = await eventually(lambda: issued(http, app_id, resident), timeout=40)
    assert len(documents_of(final, "certificate")) == 1


async def test_the_filing_answer_is_what_the_workflow_holds(stack, catalog):
    """The portal answers a filing without querying the case: the two must agree."""
    resident = stack.resident("agree-1", "一致 七郎")
    created = (await stack.http.post(APPS, json=filing(example(catalog)), headers=resident)).json()
    held = (await stack.http.get(created["url"], headers=resident)).json()
    moments = ("submitted_at", "due_at", "timeline")
    assert {k: v for k, v in created.items() if k not in moments} == {
        k: v for k, v in held.items() if k not in moments}
    assert [e["event"] for e in created["timeline"]] == [e["event"] for e in held["timeline"]]
    drift = (datetime.fromisoformat(held["due_at"]) - datetime.fromisoformat(created["due_at"]))
    assert abs(drift.total_seconds()) < 30, "the same deadline, counted from the filing"


async def test_the_application_copy_is_sealed_on_filing_and_renewed_after_a_correction(
        stack, catalog, tmp_path):
    """申請控え: a sealed, timestamped copy of what was filed, issued before the receipt
    notice; a correction issues a new copy that supersedes the first."""
    http, resident = stack.http, stack.resident("copy-1", "控え 七子")
    reviewer = stack.caseworker("cw-1")
    data = example(catalog)
    app_id = (await http.post(APPS, json=filing(data), headers=resident)).json()["id"]
    view = await eventually(lambda: issued(http, app_id, resident, kind="application-copy"))
    (copy_ref,) = documents_of(view, "application-copy")
    assert copy_ref["title"]["ja"] == "申請控え" and documents_of(view, "certificate") == []

    async def text_of(ref: dict[str, Any], name: str) -> tuple[bytes, str]:
        pdf = await http.get(ref["url"], headers=resident)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        (tmp_path / name).write_bytes(pdf.content)
        text = subprocess.run(["pdftotext", "-layout", str(tmp_path / name), "-"],
                              capture_output=True, text=True, check=True).stdout
        return pdf.content, text

    pdf, text = await text_of(copy_ref, "copy.pdf")
    for expected in ("申請控え", "罹災証明書の交付申請", app_id, data["applicant"]["phone"],
                     data["applicant"]["name"]["family"], "令和", "千代田区長"):
        assert expected in text, expected
    verdict = (await http.post("/api/verify", files={"file": ("c.pdf", pdf, "application/pdf")}))
    assert verdict.json()["status"] == "valid", verdict.text
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "application-copy.pdf").write_bytes(pdf)

    # The receipt notice is sent once the copy is stored, and the copy has no notice of its own.
    history = await stack.client.get_workflow_handle(app_id).fetch_history()
    order = [(e.event_id, e.activity_task_scheduled_event_attributes.activity_type.name)
             for e in history.events if e.HasField("activity_task_scheduled_event_attributes")]
    issue_at = next(i for i, name in order if name == "issue_document")
    completed = next(e.event_id for e in history.events
                     if e.HasField("activity_task_completed_event_attributes")
                     and e.activity_task_completed_event_attributes.scheduled_event_id == issue_at)
    notices = [i for i, name in order if name in ("notice_channels", "deliver_notice")]
    assert notices and min(notices) > completed, order
    async def receipt():
        inbox = (await http.get("/api/inbox", headers=resident)).json()
        return [e["event"] for e in inbox if e["application_id"] == app_id]

    assert await eventually(receipt) == ["submitted"]

    # A correction files new answers: a new copy replaces the first.
    asked = await act(http, app_id, reviewer, "request_correction",
                      comment="電話番号を確認してください。")
    assert asked.status_code == 200, asked.text
    amended = copy.deepcopy(data)
    amended["applicant"]["phone"] = "0398765432"
    assert (await act(http, app_id, resident, "submit_correction", data=amended)).status_code == 200
    view = await eventually(
        lambda: issued(http, app_id, resident, count=2, kind="application-copy"))
    first, second = documents_of(view, "application-copy")
    _, renewed = await text_of(second, "renewed.pdf")
    assert "0398765432" in renewed and data["applicant"]["phone"] not in renewed
    assert "補正後の内容" in renewed
    replaced = (await http.get(f"/api/documents/{first['id']}/status")).json()
    assert replaced["status"] == "superseded"
    assert replaced["status_change"]["superseded_by"] == second["id"]
    assert "補正" in replaced["status_change"]["reason"]
