"""The resident form completed with the keyboard only (Tab, Space, arrows, Enter), then
the application withdrawn through its confirmation page; the pages met are audited."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect


async def tab_to(page: Page, element_id: str, *, limit: int = 80) -> None:
    """Press Tab until the element with ``element_id`` has the focus."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id} on {page.url}")


async def tab_to_button(page: Page, text: str, *, limit: int = 80) -> None:
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e && ['BUTTON', 'A'].includes(e.tagName) ? e.textContent.trim() : ''; })()"
        )
        if focused.startswith(text):
            return
    raise AssertionError(f"Tab never reached the button {text!r} on {page.url}")


async def enter(page: Page) -> None:
    """Press Enter on a control that sends a form, and wait for the next page."""
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def type_into(page: Page, element_id: str, text: str) -> None:
    await tab_to(page, element_id)
    await page.keyboard.type(text)


async def address(page: Page, prefix: str) -> None:
    await type_into(page, f"f-{prefix}-address-postal_code", "1000001")
    await tab_to(page, f"f-{prefix}-address-prefecture")
    for _ in range(13):  # 東京都 is the 13th prefecture in JIS X 0401 order
        await page.keyboard.press("ArrowDown")
    await type_into(page, f"f-{prefix}-address-city", "千代田区")
    await type_into(page, f"f-{prefix}-address-street", "千代田1番1号")


async def test_keyboard_only_application_and_withdrawal(kit):
    page = await kit.open()
    await kit.sign_in(page, "NGUYEN VAN AN")  # the non-native resident: English pages
    await page.goto("/apply/131016/disaster-certificate?lang=ja")

    await expect(page.locator("h1")).to_have_text("誰のための申請ですか")
    await tab_to(page, "f-for")
    await page.keyboard.press("Space")  # for oneself
    await tab_to_button(page, "次へ進む")
    await enter(page)

    await tab_to(page, "f-disaster_event")
    await page.keyboard.press("Space")
    await page.keyboard.press("ArrowDown")  # the second declared event
    await tab_to_button(page, "次へ進む")
    await enter(page)

    await expect(page.locator("h1")).to_have_text("申請者")
    await type_into(page, "f-applicant-name-family", "グエン")
    await type_into(page, "f-applicant-name-given", "ヴァンアン")
    await type_into(page, "f-applicant-name-family_kana", "グエン")
    await type_into(page, "f-applicant-name-given_kana", "ヴァンアン")
    await address(page, "applicant")
    await type_into(page, "f-applicant-phone", "08011112222")
    await enter(page)  # Enter in a text input sends the page

    await expect(page.locator("h1")).to_have_text("被害を受けた建物")
    await address(page, "property")
    await tab_to(page, "f-property-kind")
    await page.keyboard.press("Space")
    await tab_to(page, "f-property-ownership")
    await page.keyboard.press("Space")
    await tab_to_button(page, "次へ進む")
    await enter(page)

    await expect(page.locator("h1")).to_have_text("被害の状況")
    await type_into(page, "f-damage-date", "2026-07-05")
    await type_into(page, "f-damage-description", "屋根が壊れました。")
    await tab_to_button(page, "次へ進む")
    await enter(page)

    for _ in range(5):  # the remaining optional pages, as they are
        if await page.locator("h1", has_text="申請内容の確認").count():
            break
        await tab_to_button(page, "次へ進む")
        await enter(page)
    await expect(page.locator("h1")).to_have_text("申請内容の確認")
    await expect(page.locator("main")).to_contain_text("令和8年7月豪雨")
    await expect(page.locator("main")).to_contain_text("一戸建て")
    await expect(page.locator("main")).to_contain_text("所有者")
    await tab_to_button(page, "この内容で申請する")
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("status")).to_contain_text("申請を受け付けました")
    app_id = (await page.locator(".reference").inner_text()).strip()

    await tab_to_button(page, "申請を取り下げる")
    await page.keyboard.press("Enter")
    await expect(page.locator("h1")).to_have_text("申請を取り下げますか")
    await kit.audit(page, "withdraw-confirm")
    await tab_to_button(page, "取り下げる")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(rf"/my/applications/{app_id}\?done=withdraw"))
    await expect(page.get_by_role("status")).to_contain_text("申請を取り下げました")
    await expect(page.locator("#status")).to_have_text("取下げ")
    await kit.audit(page, "application-withdrawn")
