"""The caseworker's and the resident's status pages in Chromium (#17): axe-core at 0
violations and screenshots at 375 and 1280 px of the queue (with a reference search), the
case page with a correction's changes, the survey's confirmation with its computed grade,
the staff inbox, and the resident's list, application page and inbox.

The case is filed and corrected through the API (fast); the pages do the rest.
"""

from __future__ import annotations

import copy
import json

from playwright.async_api import expect

from forms.catalog import DEFAULT_ROOT
from tests.support.browser import reload_until
from workflows.references import spoken_reference

EXAMPLE = json.loads(
    (DEFAULT_ROOT / "disaster-certificate" / "examples" / "valid-basic.json").read_text("utf-8")
)


async def _corrected_case(stack) -> str:
    http = stack.http
    resident = stack.resident("demo-1", "山田 太郎")
    filed = await http.post(
        "/api/applications", headers=resident,
        json={"procedure": "disaster-certificate", "municipality": "131016", "data": EXAMPLE})
    assert filed.status_code == 201, filed.text
    app_id = filed.json()["id"]
    stack.started.append(app_id)
    token = stack.issuer.issue_caseworker("cw-131016-1", ["131016"], ["reviewer", "surveyor"],
                                          name="千代田区 受付・調査担当")
    staff = {"Authorization": f"Bearer {token}"}
    amended = copy.deepcopy(EXAMPLE)
    amended["applicant"]["phone"] = "0398765432"
    for headers, body in (
        (staff, {"action": "claim"}),
        (staff, {"action": "request_correction", "comment": "電話番号を直してください。"}),
        (resident, {"action": "submit_correction", "data": amended}),
        (staff, {"action": "accept"}),
    ):
        done = await http.post(f"/api/applications/{app_id}/actions", headers=headers, json=body)
        assert done.status_code == 200, done.text
    return app_id


async def test_staff_and_status_pages(kit, portal):
    app_id = await _corrected_case(portal.stack)
    reference = spoken_reference(app_id)
    staff = await kit.open()
    await kit.sign_in(staff, "千代田区 受付・調査担当")

    await staff.goto("/staff")
    await reload_until(staff, reference)
    await kit.audit(staff, "staff-queue")
    await staff.fill("#f-q", reference.lower())
    await staff.get_by_role("button", name="探す").click()
    await expect(staff.get_by_role("link", name=reference)).to_have_count(1)
    await kit.audit(staff, "staff-queue-search")

    await staff.get_by_role("link", name=reference).click()
    await expect(staff.locator("#changes")).to_contain_text("0398765432")
    # The caseworker by name in the history, not by id (cw-131016-1).
    await expect(staff.locator(".timeline")).to_contain_text("（千代田区 受付・調査担当）")
    await expect(staff.locator(".timeline")).not_to_contain_text("cw-131016-1")
    await expect(staff.locator("#contact")).to_contain_text("防災課")
    await kit.audit(staff, "staff-case-changes")
    await staff.goto(f"/staff/cases/{app_id}?lang=en")
    await expect(staff.locator("main")).to_contain_text("Application data")
    await kit.audit(staff, "staff-case-en")
    await staff.goto(f"/staff/cases/{app_id}?lang=ja")

    await staff.fill("#f-damage_ratio", "45")
    await staff.fill("#f-surveyed_on", "2026-10-01")
    await staff.get_by_role("button", name="調査結果を登録する").click()
    await expect(staff.locator("#preview")).to_contain_text("大規模半壊（損害割合 45%）")
    await kit.audit(staff, "staff-confirm-preview")
    await staff.get_by_role("button", name="行う").click()
    await expect(staff.locator("#computed")).to_contain_text("大規模半壊（損害割合 45%）")
    await kit.audit(staff, "staff-case-computed")

    await staff.goto("/staff/inbox")
    await reload_until(staff, "補正で変わった内容を見る")
    await kit.audit(staff, "staff-inbox")

    resident = await kit.open()
    await kit.sign_in(resident, "山田 太郎")
    await resident.goto("/my")
    await reload_until(resident, reference)
    await kit.audit(resident, "status-list")
    await resident.goto(f"/my/applications/{app_id}")
    await expect(resident.locator("#reference")).to_have_text(reference)
    await expect(resident.locator("main")).not_to_contain_text("受理する")
    await kit.audit(resident, "status-application")
    await resident.goto(f"/my/applications/{app_id}?lang=en")
    await kit.audit(resident, "status-application-en")
    await resident.goto("/my/inbox?lang=ja")
    await kit.audit(resident, "status-inbox")
