"""What a person does on the pages, in Playwright (continue, fill an address, act on a
case, wait for a change), and how the tests start Debian's Chromium."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Page, expect

from forms.pointers import resolve
from forms.schemaform import Field, SchemaForm

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


#: The axe-core rules every page must pass: WCAG 2.2 AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


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


# ---- typing the example as a person would ----------------------------------------------

_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def typed(f: Field, value: Any, index: int) -> str:
    """``value`` written the way people write it (the page must read it back exactly)."""
    text = str(value)
    if f.kind == "date":
        year, month, day = (int(p) for p in text.split("-"))
        styles = [text, f"{year}/{month}/{day}", f"{year}年{month}月{day}日"]
        if year >= 2019:
            styles += [f"令和{year - 2018}年{month}月{day}日", f"R{year - 2018}.{month}.{day}"]
        return styles[index % len(styles)]
    if f.kind == "integer" and isinstance(value, int):
        if value >= 10000:
            return f"{value:,}円" if index % 2 else f"{value:,}"
        return text.translate(_FULL_WIDTH) if index % 3 == 1 else text
    if f.kind == "tel":
        return "+81 " + text[1:] if index % 2 == 0 else f"{text[:3]}-{text[3:-4]}-{text[-4:]}"
    if f.autocomplete == "postal-code":
        return f"〒{text[:3]}-{text[3:]}"
    return text


async def fill_page(page: Page, form: SchemaForm, page_id: str, example: dict) -> None:
    """Answer one page of ``form`` with ``example``'s values, as a person types them."""
    # Lists first: add (or remove) items until the page has as many as the example.
    for top in form.page(page_id, example).fields:
        for f in (f for f in top.walk() if f.kind == "array"):
            want = len(resolve(example, f.pointer, None) or [])
            for _ in range(f.max_items + 1):
                have = int(await page.locator(f'input[name="_count{f.pointer}"]')
                           .get_attribute("value") or 0)
                if have == want:
                    break
                if have < want:
                    await page.locator(f'button[name="_nav"][value="add:{f.pointer}"]').click()
                else:
                    await page.locator(
                        f'button[name="_nav"][value="remove:{f.pointer}:{have - 1}"]').click()
                await page.wait_for_load_state()
    for index, f in enumerate(form.page(page_id, example).leaves()):
        value = resolve(example, f.pointer, None)
        if f.kind == "files":
            assert value is None, "examples with attachments are not typed here"
            continue
        if f.kind in ("radios", "boolean"):
            if value is not None:
                option = "true" if value is True else "false" if value is False else str(value)
                await page.locator(f'input[name="{f.pointer}"][value="{option}"]').check()
            continue
        if f.kind == "consent":
            box = page.locator(f'input[name="{f.pointer}"]')
            await (box.check() if value is True else box.uncheck())
            continue
        if f.kind == "select":
            await page.locator(f"#{f.id}").select_option("" if value is None else str(value))
            continue
        await page.locator(f"#{f.id}").fill("" if value is None else typed(f, value, index))
