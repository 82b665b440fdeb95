"""The caseworker's extras in a real Chromium: revoking an issued document from the case
page (an approver asks with a reason, a second approver reads it and confirms: four eyes;
the public verify page then says revoked), the due-date filter of the queue, the dashboard
(SVG charts with data tables, no personal data), and the HTML page for an unknown address.

The case is filed and decided through the API (fast); the pages do the rest.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from playwright.async_api import expect

from forms.catalog import DEFAULT_ROOT
from tests.support.stack import documents_of

EXAMPLE = json.loads(
    (DEFAULT_ROOT / "disaster-certificate" / "examples" / "valid-basic.json").read_text("utf-8")
)


async def issued_case(stack) -> tuple[str, str]:
    """A case decided through the API: (application id, document id)."""
    http = stack.http
    filed = await http.post(
        "/api/applications",
        headers=stack.resident("demo-1", "山田 太郎"),
        json={"procedure": "disaster-certificate", "municipality": "131016", "data": EXAMPLE},
    )
    assert filed.status_code == 201, filed.text
    app_id = filed.json()["id"]
    staff, approver = stack.caseworker("cw-a"), stack.caseworker("cw-b", roles="approver")
    for headers, body in (
        (staff, {"action": "accept"}),
        (staff, {"action": "survey", "data": {"damage_ratio": 42.5, "surveyed_on": "2026-10-01"}}),
        (approver, {"action": "approve"}),
    ):
        done = await http.post(f"/api/applications/{app_id}/actions", headers=headers, json=body)
        assert done.status_code == 200, done.text
    for _ in range(200):
        view = (await http.get(f"/api/applications/{app_id}", headers=staff)).json()
        certificates = documents_of(view, "certificate")
        if certificates:
            return app_id, certificates[0]["id"]
        await asyncio.sleep(0.1)
    raise AssertionError("no document was issued")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_revoke_filter_dashboard_and_not_found(kit, portal, javascript):
    audit = kit.audit if javascript else (lambda page, name: asyncio.sleep(0))
    app_id, document_id = await issued_case(portal.stack)
    staff = await kit.open(javascript=javascript)
    await kit.sign_in(staff, "千代田区 決裁者")

    # --- revoke, from the case page: one approver asks ------------------------------------
    await staff.goto(f"/staff/cases/{app_id}")
    await staff.get_by_role("link", name="この書類を取り消す : 罹災証明書").click()
    await expect(staff.locator("h1")).to_have_text("書類を取り消しますか")
    await staff.get_by_role("button", name="取消しを求める").click()  # no reason
    await expect(staff.locator("#error-summary")).to_contain_text("取消しの理由を入力してください")
    await expect(staff.locator("#f-reason")).to_have_attribute("aria-invalid", "true")
    if javascript:
        await audit(staff, "staff-revoke-error")
    reason = "記載内容に誤りがあったため、再発行します。"
    await staff.fill("#f-reason", reason)
    await staff.get_by_role("button", name="取消しを求める").click()
    await expect(staff.get_by_role("status")).to_contain_text("別の職員が確認すると取り消されます")
    await expect(staff.locator(f"#doc-{document_id}")).to_contain_text("取消しの確認待ち")
    # Four eyes: the one who asked is offered no confirmation.
    await expect(staff.get_by_role("link", name=re.compile("取消しを確認する"))).to_have_count(0)
    assert portal.stack.register.get(document_id).status == "valid"

    # --- a second approver reads the reason and confirms -----------------------------------
    second = await kit.open(javascript=javascript)
    token = portal.stack.issuer.issue_caseworker("cw-131016-approver-2", ["131016"],
                                                 ["approver"], name="千代田区 決裁者2")
    await second.context.add_cookies([{"name": "madoguchi_session", "value": token,
                                       "url": portal.url}])
    await second.goto(f"/staff/cases/{app_id}")
    await second.get_by_role("link", name="取消しを確認する : 罹災証明書").click()
    await expect(second.locator("h1")).to_have_text("書類の取消しを確認しますか")
    await expect(second.locator("main")).to_contain_text(reason)
    if javascript:
        await audit(second, "staff-revoke-confirm")
    await second.get_by_role("button", name="確認して取り消す").click()
    await expect(second.get_by_role("status")).to_contain_text("書類を取り消しました")
    await expect(second.locator(f"#doc-{document_id}")).to_contain_text("取消し済み")
    # A 申請控え is never offered for revocation.
    await expect(second.get_by_role("link", name=re.compile("この書類を取り消す"))).to_have_count(0)
    await expect(second.locator("main")).to_contain_text("書類が取り消されました")  # timeline
    await audit(second, "staff-case-revoked")
    assert portal.stack.register.get(document_id).status == "revoked"
    change = portal.stack.register.status_change(document_id)
    assert change.reason == reason and change.actor == "cw-131016-2+cw-131016-approver-2"
    await second.goto(f"/verify/{document_id}")
    await expect(second.locator("main")).to_contain_text(reason)
    # Asking again (an old tab) is refused with the register's reason.
    await staff.goto(f"/staff/cases/{app_id}/documents/{document_id}/revoke")
    await staff.fill("#f-reason", "もう一度")
    await staff.get_by_role("button", name="取消しを求める").click()
    await expect(staff.locator("#refusal")).to_contain_text("この書類はすでに取り消されています")

    # The queue's filters belong to a reviewer's work.
    await kit.sign_in(staff, "千代田区 受付・調査担当")

    # --- the queue's due-date filter -------------------------------------------------------
    await staff.goto("/staff?status=waiting")  # issued: the applicant's turn, not ours
    await expect(staff.get_by_role("link", name=app_id)).to_be_visible()
    await staff.select_option("#f-due", "week")  # due in 30 days: not within a week
    await staff.get_by_role("button", name="絞り込む").click()
    await expect(staff).to_have_url(re.compile(r"due=week"))
    await expect(staff.get_by_role("link", name=app_id)).to_have_count(0)
    await expect(staff.locator("#f-due")).to_have_value("week")
    await staff.goto("/staff?due=overdue")
    await expect(staff.get_by_text("条件に合う案件はありません。")).to_be_visible()
    await audit(staff, "staff-queue-filtered")

    # --- the dashboard ----------------------------------------------------------------------
    await staff.get_by_role("link", name="集計").click()
    await expect(staff.locator("h1")).to_have_text("集計")
    chart = staff.get_by_role("img", name="日ごとの申請件数（直近14日）")
    await expect(chart).to_be_visible()
    per_day = staff.locator("#table-per-day tbody tr")
    await expect(per_day).to_have_count(14)
    # The dev server is shared by the session's tests: at least this test's case counts.
    assert int(await per_day.last.locator("td").text_content()) >= 1  # filed today
    bands = staff.locator("#table-processing tbody tr td:first-of-type")
    print(await bands.all_text_contents())
    assert sum([int(t) for t in await bands.all_text_contents()]) >= 1  # open: issued, in 再調査
    main = await staff.locator("main").inner_text()
    assert "山田" not in main and "千代田1" not in main  # no personal data
    await audit(staff, "staff-dashboard")
    await staff.goto("/staff/dashboard?lang=en")
    await expect(
        staff.get_by_role("img", name="Applications per day (last 14 days)")
    ).to_be_visible()
    await staff.goto("/staff/dashboard?lang=ja")

    # --- an unknown address: an HTML page, not JSON ------------------------------------------
    response = await staff.goto("/no/such/page")
    assert response is not None and response.status == 404
    if "text/html" in (response.headers.get("content-type") or ""):
        await expect(staff.locator("h1")).to_have_text("ページが見つかりません")
        await audit(staff, "not-found")
