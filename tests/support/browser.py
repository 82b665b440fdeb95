"""What a person does on the pages, in Playwright (continue, fill an address, act on a
case, wait for a change), and how the tests start Debian's Chromium."""

from __future__ import annotations

import asyncio

from playwright.async_api import Page, expect

#: Debian's Chromium (never a downloaded browser), with the flags this closed network needs.
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


async def reload_until(page: Page, locator_text: str, *, timeout: float = 20.0) -> None:
    """Reload until the text shows (visibility and activities are eventually consistent)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await page.get_by_text(locator_text).count():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{locator_text!r} did not appear on {page.url}")
        await asyncio.sleep(0.3)
        await page.reload()


async def continue_(page: Page) -> None:
    """次へ進む, and wait for the next page: with a URL per page (POST, 303, GET) the click
    returns before the new page is there, and a check of the old page would race it."""
    async with page.expect_navigation():
        await page.get_by_role("button", name="次へ進む").click()


async def continue_to_check(page: Page) -> None:
    """Continue through the remaining (optional) pages to check-your-answers."""
    for _ in range(8):
        if await page.locator("h1", has_text="申請内容の確認").count():
            return
        await continue_(page)
    await expect(page.locator("h1")).to_have_text("申請内容の確認")


async def fill_address(page: Page, prefix: str) -> None:
    await page.fill(f"#f-{prefix}-address-postal_code", "1010065")
    await page.select_option(f"#f-{prefix}-address-prefecture", "東京都")
    await page.fill(f"#f-{prefix}-address-city", "千代田区")
    await page.fill(f"#f-{prefix}-address-street", "西神田二丁目3番4号")


async def act(page: Page, button: str, *, comment: str | None = None) -> None:
    """Press an action button on the case page, then confirm it."""
    if comment is not None:
        await page.fill("#f-comment", comment)
    await page.get_by_role("button", name=button, exact=True).click()
    await expect(page.locator("h1")).to_contain_text(button)
    await page.get_by_role("button", name="行う").click()
