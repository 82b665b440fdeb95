"""The SME telework grant end to end: application → 交付決定 → 実績報告 → 額の確定."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.support.stack import eventually

APPS = "/api/applications"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


def example(catalog, name: str) -> dict[str, Any]:
    directory = catalog.get("sme-telework-grant").directory / "examples"
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


REPORT = {
    "completed_on": "2027-02-20",
    "summary": "ノートPCを2台導入し、在宅勤務を週3日実施した。",
    "teleworkers": 2,
    "expenses": [{"category": "equipment", "description": "ノートPC 2台", "amount": 280000,
                  "receipt_no": "R-2027-0012"}],
}


async def act(http: httpx.AsyncClient, app_id: str, headers: dict[str, str], action: str,
              **body: Any) -> httpx.Response:
    return await http.post(f"{APPS}/{app_id}/actions", json={"action": action, **body},
                           headers=headers)


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


async def documents_of(http: httpx.AsyncClient, app_id: str, headers: dict[str, str],
                       count: int) -> dict[str, Any] | None:
    body = (await http.get(f"{APPS}/{app_id}", headers=headers)).json()
    return body if len(body["documents"]) >= count and body["status"] != "issuing" else None


async def test_grant_from_application_to_final_amount(stack, catalog):
    http = stack.http
    owner = stack.resident("sole-1", "鈴木 花子")
    reviewer = stack.caseworker("cw-1", roles="reviewer,approver")
    approver = stack.caseworker("cw-2", roles="approver")

    created = await http.post(APPS, json={"procedure": "sme-telework-grant",
                                          "municipality": "131016",
                                          "data": example(catalog, "valid-sole-proprietor")},
                              headers=owner)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    assert created.json()["stage"] == "review"

    assert (await act(http, app_id, reviewer, "accept")).status_code == 200
    own = await act(http, app_id, reviewer, "decide_grant")
    assert own.status_code == 403 and own.json()["error"] == "four_eyes"
    decided = await act(http, app_id, approver, "decide_grant")
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["stage"] == "report" and body["status"] == "awaiting_applicant"
    assert body["computed"]["grant_amount"]["amount"] == 150_000  # 1/2 of 300,000 yen
    assert body["due_at"] is None, "the legal clock stops while the applicant reports"

    with_decision = await eventually(lambda: documents_of(http, app_id, owner, 1))
    (decision,) = with_decision["documents"]
    assert decision["type"] == "grant-decision"
    decision_pdf = (await http.get(decision["url"], headers=owner)).content
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "grant-decision.pdf").write_bytes(decision_pdf)
    text = pdf_text(decision_pdf)
    assert "補助金交付決定通知書" in text and "150,000円" in text and "鈴木デザイン事務所" in text
    assert with_decision["actions"] == ["submit_report", "withdraw"]

    not_yours = await act(http, app_id, reviewer, "submit_report", data=REPORT)
    assert not_yours.status_code == 403
    bad = await act(http, app_id, owner, "submit_report", data={**REPORT, "teleworkers": -1})
    assert bad.status_code == 422
    assert any(e["path"] == "/teleworkers" for e in bad.json()["details"])
    filed = await act(http, app_id, owner, "submit_report",
                      data={**REPORT, "expenses": [{**REPORT["expenses"][0], "amount": 2800}]})
    assert filed.status_code == 200, filed.text
    assert filed.json()["stage"] == "inspection" and filed.json()["status"] == "in_progress"

    # The inspector finds a typo in the receipts and asks for a corrected report (補正).
    asked = await act(http, app_id, reviewer, "request_correction",
                      comment="領収書の金額と報告の金額が違います。")
    assert asked.status_code == 200, asked.text
    wrong_shape = await act(http, app_id, owner, "submit_correction", data={"summary": "x"})
    assert wrong_shape.status_code == 422, "a report correction follows the report's schema"
    corrected = await act(http, app_id, owner, "submit_correction", data=REPORT)
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "in_progress"

    confirmed = await act(http, app_id, reviewer, "confirm_amount")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["computed"]["final_amount"]["amount"] == 140_000

    final = await eventually(lambda: documents_of(http, app_id, owner, 2))
    assert final["status"] == "completed"
    confirmation = final["documents"][1]
    assert confirmation["type"] == "amount-confirmation"
    text = pdf_text((await http.get(confirmation["url"], headers=owner)).content)
    assert "額の確定通知書" in text and "140,000円" in text

    async def finance_told():
        return {n.event for n in stack.inbox.for_recipient("municipality:131016")
                if n.application_id == app_id} >= {"report_submitted", "payment_instruction"}

    await eventually(finance_told)


async def test_a_business_cannot_file_twice_for_one_year(stack, catalog):
    owner = stack.resident("sole-2", "田中 一")
    body = {"procedure": "sme-telework-grant", "municipality": "131016",
            "data": example(catalog, "valid-corporation")}
    assert (await stack.http.post(APPS, json=body, headers=owner)).status_code == 201
    again = await stack.http.post(APPS, json=body, headers=owner)
    assert again.status_code == 409
    next_year = {**body, "data": {**body["data"], "fiscal_year": 2027}}
    assert (await stack.http.post(APPS, json=next_year, headers=owner)).status_code == 201


async def test_ineligible_applications_are_refused_with_reasons(stack, catalog):
    data = example(catalog, "valid-corporation")
    data["business"]["employees"] = 301
    data["business"].pop("corporate_number")
    data["declarations"]["not_antisocial"] = False
    reply = await stack.http.post(APPS, json={"procedure": "sme-telework-grant",
                                              "municipality": "131016", "data": data},
                                  headers=stack.resident("sole-3", "山本 二郎"))
    assert reply.status_code == 422
    paths = {e["path"] for e in reply.json()["details"]}
    assert {"/business/employees", "/business/corporate_number",
            "/declarations/not_antisocial"} <= paths
