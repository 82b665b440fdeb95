"""The resident's extras in a real Chromium, with JavaScript on and off: proxy filing
(代理申請) chosen at the start of the form, photos uploaded through ``<input type=file>``
(too large, wrong type, removed), 「一時保存」 and resuming the draft in another browser
context (another device), then the filed application shown as 代理申請 to the resident
and to the caseworker, who can open the attached photo.
"""

from __future__ import annotations

import asyncio
import io
import re

import pytest
from PIL import Image
from playwright.async_api import Page, expect

from tests.support.browser import continue_, fill_address, reload_until


def _png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(out, "PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (30, 30, 200)).save(out, "JPEG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def attach(page: Page, name: str, content: bytes, mime: str) -> None:
    await page.set_input_files("#f-photos", {"name": name, "mimeType": mime, "buffer": content})
    await page.get_by_role("button", name="選んだファイルを添付する").click()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_proxy_filing_with_photos_saved_and_resumed_on_another_device(kit, javascript):
    audit = kit.audit if javascript else (lambda page, name: asyncio.sleep(0))
    tag = "" if javascript else "-nojs"
    phone = await kit.open(javascript=javascript, width=375)
    await kit.sign_in(phone, "田中 一郎")
    await phone.goto("/apply/131016/disaster-certificate")

    # --- whom for: nothing chosen, then a proxy with mistakes, then right -----------------
    await expect(phone.locator("h1")).to_have_text("誰のための申請ですか")
    await continue_(phone)
    await expect(phone.locator("#error-summary")).to_contain_text(
        "誰のための申請かを選んでください"
    )
    await phone.get_by_label("家族などの代わりに申請する（代理申請）").check()
    await phone.fill("#f-proxy-name", "田中 トメ")
    await phone.fill("#f-proxy-name_kana", "たなか とめ")  # hiragana: refused
    await phone.fill("#f-proxy-birthdate", "2999-01-01")  # in the future: refused
    await continue_(phone)
    summary = phone.locator("#error-summary")
    await expect(summary).to_contain_text("本人の氏名（フリガナ）は全角カタカナで入力してください")
    await expect(summary).to_contain_text("本人との関係を入力してください")
    await expect(phone.locator("#f-proxy-name")).to_have_value("田中 トメ")  # kept
    await audit(phone, f"form-who-error{tag}")
    await phone.fill("#f-proxy-name_kana", "タナカ トメ")
    await phone.fill("#f-proxy-birthdate", "1938-05-20")
    await phone.get_by_label("父母").check()
    await continue_(phone)
    if not javascript:
        await expect(phone.locator("#error-summary")).to_have_count(0)

    # --- the first answers, then 一時保存 ---------------------------------------------------
    await expect(phone.locator("h1")).to_contain_text("災害")
    await expect(phone.locator(".caption")).to_contain_text("代理申請")
    await phone.get_by_label("令和8年7月豪雨").check()
    await continue_(phone)
    await phone.fill("#f-applicant-name-family", "田中")
    await phone.fill("#f-applicant-name-given", "一郎")
    await phone.fill("#f-applicant-name-family_kana", "タナカ")
    await phone.fill("#f-applicant-name-given_kana", "イチロウ")
    await phone.get_by_role("button", name="一時保存する").click()
    await expect(phone.locator("#draft-saved")).to_contain_text("一時保存しました")
    await audit(phone, f"form-draft-saved{tag}")

    # --- another device: the draft list, resume, the answers are there -------------------
    desk = await kit.open(javascript=javascript)
    await kit.sign_in(desk, "田中 一郎")
    await desk.goto("/my")
    await expect(desk.get_by_text("一時保存した申請が1件あります。")).to_be_visible()
    await desk.goto("/my/drafts")
    await expect(desk.get_by_role("cell", name="罹災証明書の交付申請", exact=True)).to_be_visible()
    await audit(desk, f"drafts{tag}")
    await desk.get_by_role("link", name=re.compile("続きを入力する")).click()
    await expect(desk.locator("h1")).to_have_text("申請者")  # where it was left (#17)
    await desk.get_by_role("button", name="前に戻る").click()
    await desk.get_by_role("button", name="前に戻る").click()
    await expect(desk.locator("h1")).to_have_text("誰のための申請ですか")
    await desk.get_by_label("家族などの代わりに申請する（代理申請）").check()
    await desk.fill("#f-proxy-name", "田中 トメ")
    await desk.fill("#f-proxy-name_kana", "タナカ トメ")
    await desk.fill("#f-proxy-birthdate", "1938-05-20")
    await desk.get_by_label("父母").check()
    await continue_(desk)
    await expect(desk.get_by_label("令和8年7月豪雨")).to_be_checked()
    await continue_(desk)
    await expect(desk.locator("#f-applicant-name-given_kana")).to_have_value("イチロウ")
    await fill_address(desk, "applicant")
    await desk.fill("#f-applicant-phone", "0312345678")
    await desk.get_by_role("button", name="一時保存する").click()  # saved from this device
    await expect(desk.locator("#draft-saved")).to_be_visible()

    # The phone saves again on the old revision: told, and a second save overwrites.
    await phone.get_by_role("button", name="一時保存する").click()
    await expect(phone.locator("#draft-conflict")).to_contain_text("別の端末で更新されています")
    await continue_(desk)

    # --- the property, the damage, then photos -------------------------------------------
    await fill_address(desk, "property")
    await desk.get_by_label("一戸建て").check()
    await desk.get_by_label("所有者", exact=True).check()
    await continue_(desk)
    await desk.fill("#f-damage-date", "2026-07-05")
    await desk.fill("#f-damage-description", "屋根瓦が落ちました。")
    await continue_(desk)
    await continue_(desk)  # copies: the default
    await expect(desk.locator("h1")).to_contain_text("被害の写真")
    await expect(desk.locator("#f-photos")).to_have_attribute("type", "file")
    await attach(desk, "big.png", _png() + b"\0" * (5 * 1024 * 1024), "image/png")
    await expect(desk.locator("#f-photos-error")).to_contain_text("ファイルが大きすぎます")
    await expect(desk.locator("#error-summary")).to_contain_text("5 MB")
    await audit(desk, f"form-upload-error{tag}")
    await attach(desk, "letter.pdf", PDF, "application/pdf")
    await expect(desk.locator("#f-photos-error")).to_contain_text("JPEG, PNG")
    await attach(desk, "屋根.png", _png(), "image/png")
    await attach(desk, "../../etc/壁.jpeg", _jpeg(), "image/jpeg")
    files = desk.get_by_role("list", name="添付したファイル")
    await expect(files.get_by_role("listitem")).to_have_count(2)
    await expect(files).to_contain_text("屋根.png")
    await expect(files).to_contain_text("壁.jpg")  # sanitized name, extension from the bytes
    await audit(desk, f"form-upload{tag}")
    await files.get_by_role("button", name=re.compile("削除する.*屋根.png")).click()
    await expect(files.get_by_role("listitem")).to_have_count(1)
    await continue_(desk)

    # --- check your answers: 代理申請 shown; send ------------------------------------------
    await expect(desk.locator("h1")).to_have_text("申請内容の確認")
    proxy = desk.locator("#proxy")
    await expect(proxy).to_contain_text("代理人による申請（本人との関係: 父母）")
    await expect(proxy).to_contain_text("田中 トメ（タナカ トメ）")
    await expect(desk.locator("main")).to_contain_text("壁.jpg")
    await audit(desk, f"check-answers-proxy{tag}")
    await desk.get_by_role("button", name="この内容で申請する").click()
    await expect(desk.get_by_role("status")).to_contain_text("申請を受け付けました")
    app_id = (await desk.locator(".reference").inner_text()).strip()
    await expect(desk.locator("h1")).to_contain_text("代理申請")
    await expect(desk.locator("#proxy")).to_contain_text("昭和13年5月20日")
    await audit(desk, f"application-proxy{tag}")
    await desk.goto("/my/drafts")  # filed: the draft is gone
    await expect(desk.get_by_text("一時保存した申請はありません。")).to_be_visible()

    # --- the caseworker sees 代理申請 and the photo ------------------------------------------
    staff = await kit.open(javascript=javascript)
    await kit.sign_in(staff, "千代田区 受付・調査担当")
    await staff.goto(f"/staff/cases/{app_id}")
    await expect(staff.locator("h1")).to_contain_text("代理申請")
    await expect(staff.locator("#proxy")).to_contain_text("本人との関係: 父母")
    await audit(staff, f"staff-case-proxy{tag}")
    async with staff.expect_download() as download_info:
        await staff.get_by_role("link", name="壁.jpg").click()
    download = await download_info.value
    assert (await download.path()).read_bytes() == _jpeg()
    await reload_until(staff, "代理人による申請")


async def test_a_draft_is_deleted_from_the_list(kit):
    page = await kit.open(javascript=False)
    await kit.sign_in(page, "鈴木 キヨ")
    await page.goto("/apply/131016/disaster-certificate")
    await page.get_by_role("button", name="一時保存する").click()  # even on the first page
    await expect(page.locator("#draft-saved")).to_be_visible()
    await page.goto("/my/drafts")
    await page.get_by_role("button", name=re.compile("削除する")).click()
    await expect(page.get_by_role("status")).to_contain_text("下書きを削除しました")
    await expect(page.get_by_text("一時保存した申請はありません。")).to_be_visible()
