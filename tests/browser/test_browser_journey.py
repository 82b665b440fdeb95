"""A 罹災証明書 through the web pages in a real Chromium: a resident applies, answers a
correction request and downloads the certificate; a caseworker and a second caseworker
(four eyes) do their part in other browser contexts. Once with JavaScript, once without.

With JavaScript on, every page template met on the way is checked with axe-core (WCAG 2.2
AA) and photographed at 1280 px and 375 px into test-artifacts/pages/.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.support.browser import act, continue_, continue_to_check, fill_address, reload_until

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
CORRECTION = "電話番号に誤りがあります。日中につながる番号にしてください。"












@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_resident_and_caseworkers_complete_a_certificate(kit, javascript):
    audit = kit.audit if javascript else (lambda page, name: asyncio.sleep(0))
    resident = await kit.open(javascript=javascript)

    # --- the resident signs in and applies --------------------------------------------
    await resident.goto("/")
    await audit(resident, "home")
    await resident.goto("/procedures")
    await expect(resident.get_by_role("heading", name="罹災証明書の交付申請")).to_be_visible()
    await audit(resident, "procedures")
    await resident.goto("/my")
    await expect(resident).to_have_url(re.compile(r"/login\?next=/my"))
    await audit(resident, "login")
    await resident.get_by_role("button", name=re.compile(": 山田 太郎（")).click()
    await expect(resident).to_have_url(re.compile(r"/my$"))
    await expect(resident.locator("h1")).to_have_text("申請した手続き")
    await audit(resident, "my-empty")

    await resident.get_by_role("link", name="申請する").first.click()
    await audit(resident, "apply-choose")
    await resident.get_by_label("千代田区（東京都）").check()
    await resident.get_by_label("罹災証明書の交付申請").check()
    await resident.get_by_role("button", name="申請を始める").click()

    await expect(resident.locator("h1")).to_have_text("誰のための申請ですか")
    await resident.get_by_label("自分のために申請する").check()
    await continue_(resident)
    await expect(resident.locator("h1")).to_contain_text("災害")
    await continue_(resident)  # nothing chosen: an error, at the top and at the field
    await expect(resident.locator("#error-summary")).to_contain_text("災害を入力してください")
    await audit(resident, "form-error-radios")
    await resident.get_by_label("令和8年7月豪雨").check()
    await continue_(resident)

    await expect(resident.locator("h1")).to_have_text("申請者")
    await resident.fill("#f-applicant-name-family", "佐藤")
    await resident.fill("#f-applicant-name-given", "花子")
    await resident.fill("#f-applicant-name-family_kana", "さとう")  # hiragana: refused
    await continue_(resident)
    summary = resident.locator("#error-summary")
    await expect(summary).to_contain_text("姓（フリガナ）は全角カタカナで入力してください")
    await expect(summary).to_contain_text("郵便番号を入力してください")
    await expect(resident.locator("#f-applicant-name-family_kana-error")).to_be_visible()
    await expect(resident.locator("#f-applicant-name-family")).to_have_value("佐藤")  # kept
    await expect(resident.locator("#f-applicant-name-family_kana")).to_have_value("さとう")
    await audit(resident, "form-error-fields")
    await summary.get_by_role("link", name=re.compile("郵便番号")).click()
    await resident.fill("#f-applicant-name-family_kana", "サトウ")
    await resident.fill("#f-applicant-name-given_kana", "ハナコ")
    await fill_address(resident, "applicant")
    await resident.fill("#f-applicant-phone", "0312345678")
    await audit(resident, "form-applicant")
    await continue_(resident)

    await expect(resident.locator("h1")).to_have_text("被害を受けた建物")
    await fill_address(resident, "property")
    await resident.get_by_label("集合住宅（アパート・マンション）").check()
    await resident.get_by_label("借りて住んでいる").check()
    await continue_(resident)

    await expect(resident.locator("h1")).to_have_text("被害の状況")
    await resident.fill("#f-damage-date", "2026-07-05")
    await resident.fill("#f-damage-description", "大雨で床上まで浸水しました。")
    await continue_(resident)

    await expect(resident.locator("#f-copies")).to_have_value("1")  # the schema's default
    await resident.fill("#f-copies", "２")  # full-width digits from an IME are accepted
    await continue_(resident)
    await continue_to_check(resident)
    await expect(resident.locator("main")).to_contain_text("令和8年7月豪雨")
    await expect(resident.locator("main")).to_contain_text("借りて住んでいる")
    await audit(resident, "check-answers")
    await resident.get_by_role("button", name="この内容で申請する").click()

    await expect(resident.get_by_role("status")).to_contain_text("申請を受け付けました")
    app_id = (await resident.locator(".reference").inner_text()).strip()
    assert re.fullmatch(r"app-[a-z0-9]+", app_id)
    assert resident.url.endswith(f"/my/applications/{app_id}?filed=1")
    await audit(resident, "application-filed")

    # --- the caseworker asks for a correction -----------------------------------------
    staff = await kit.open(javascript=javascript)
    await kit.sign_in(staff, "千代田区 受付・調査担当")
    await expect(staff.locator("h1")).to_have_text("案件一覧")
    await reload_until(staff, app_id)
    await audit(staff, "staff-queue")
    await staff.get_by_role("link", name=app_id).click()
    await expect(staff.locator("#stage")).to_have_text("受付審査")
    await expect(staff.get_by_text("西神田二丁目3番4号").first).to_be_visible()
    await audit(staff, "staff-case")
    # No reason given: the workflow refuses, and the page says why.
    await staff.get_by_role("button", name="補正を求める").click()
    await audit(staff, "staff-confirm")
    await staff.get_by_role("button", name="行う").click()
    await expect(staff.locator("#refusal")).to_contain_text("理由（コメント）を入力してください")
    await audit(staff, "staff-refusal")
    await act(staff, "補正を求める", comment=CORRECTION)
    await expect(staff.locator("#status")).to_have_text("補正待ち")

    # --- the resident answers it ------------------------------------------------------
    await resident.goto(f"/my/applications/{app_id}")
    correction = resident.locator("#correction")
    await expect(correction).to_contain_text(CORRECTION)
    await expect(correction).to_contain_text("期限")
    await audit(resident, "application-correction")
    await correction.get_by_role("link", name="申請内容を直す").click()
    await expect(resident.get_by_label("令和8年7月豪雨")).to_be_checked()  # pre-filled
    await continue_(resident)
    await expect(resident.locator("#f-applicant-phone")).to_have_value("0312345678")
    await resident.fill("#f-applicant-phone", "09012345678")
    await continue_to_check(resident)
    await expect(resident.locator("main")).to_contain_text("09012345678")
    await resident.get_by_role("button", name="この内容で補正を送る").click()
    await expect(resident.get_by_role("status")).to_contain_text("直した申請を送りました")

    # --- accept and survey; a second caseworker approves (four eyes) --------------------
    await staff.goto(f"/staff/cases/{app_id}")
    await act(staff, "受理する")
    await expect(staff.locator("#stage")).to_have_text("被害認定調査")
    await staff.fill("#f-damage_ratio", "abc")
    await staff.fill("#f-surveyed_on", "2026-10-01")
    await staff.get_by_role("button", name="調査結果を登録する").click()
    await expect(staff.locator("#error-summary")).to_contain_text("損害割合")
    await expect(staff.locator("#f-damage_ratio")).to_have_value("abc")
    await staff.fill("#f-damage_ratio", "42.5")
    await staff.get_by_role("button", name="調査結果を登録する").click()
    await expect(staff.locator("h1")).to_contain_text("調査結果を登録する")
    await staff.get_by_role("button", name="行う").click()
    await expect(staff.locator("#stage")).to_have_text("決裁")
    await expect(staff.get_by_text("いま行える操作はありません。")).to_be_visible()

    approver = await kit.open(javascript=javascript)
    await kit.sign_in(approver, "千代田区 決裁者")
    await approver.goto(f"/staff/cases/{app_id}")
    await expect(approver.get_by_text("42.5").first).to_be_visible()
    await act(approver, "決裁する")
    await expect(approver.get_by_role("status")).to_contain_text("決裁する")

    # --- the resident downloads the certificate ----------------------------------------
    await resident.goto(f"/my/applications/{app_id}")
    await reload_until(resident, "罹災証明書: ダウンロード（PDF）")
    await expect(resident.locator("#status")).to_contain_text("交付済み")
    # The 申請控え issued on filing is there too.
    await expect(resident.get_by_role("link", name="申請控え: ダウンロード（PDF）")).to_be_visible()
    await audit(resident, "application-completed")
    async with resident.expect_download() as download_info:
        await resident.get_by_role("link", name="罹災証明書: ダウンロード（PDF）").click()
    download = await download_info.value
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"certificate-{'js' if javascript else 'nojs'}.pdf"
    await download.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")
    assert download.suggested_filename == "risai-shomeisho.pdf"

    await resident.goto("/my/inbox")
    await expect(resident.locator("h2").first).to_be_visible()
    await expect(resident.get_by_role("heading", name="証明書ができました")).to_be_visible()
    await audit(resident, "inbox")
    await resident.goto("/my")
    await expect(resident.get_by_role("link", name="罹災証明書の交付申請")).to_be_visible()
    await audit(resident, "my-list")
    await resident.goto("/my/applications/app-doesnotexist")
    await expect(resident.get_by_role("alert")).to_contain_text("申請が見つかりません")
    await audit(resident, "error")

    # English, remembered in a cookie.
    await resident.goto(f"/my/applications/{app_id}?lang=en")
    await expect(resident.locator("#status")).to_contain_text("Issued")
    await resident.goto("/my")
    await expect(resident.locator("h1")).to_have_text("My applications")
    await audit(resident, "my-list-en")

    # The resident cannot see the staff pages, nor another resident the case.
    await resident.goto("/staff")
    await expect(resident.get_by_role("alert")).to_contain_text("for municipal staff")
    await approver.goto("/staff/inbox")
    await audit(approver, "staff-inbox")
    await kit.sign_in(approver, "鈴木 キヨ")
    await approver.goto(f"/my/applications/{app_id}")
    await expect(approver.get_by_role("alert")).to_contain_text("申請が見つかりません")
    # Sign out ends the session.
    await approver.get_by_role("button", name="ログアウト").click()
    await expect(approver.get_by_role("status")).to_contain_text("ログアウトしました")
    await approver.goto("/my")
    await expect(approver).to_have_url(re.compile(r"/login"))
