"""Issue #19 in a real Chromium: the assisted mode (a resident beside a デジタル活用支援員).

``test_the_assisted_mode_at_200_percent_zoom``: a 1280 px window at 200 % (640 CSS px at
2 device pixels per CSS pixel); the helper turns the mode on with their number through a
plain form, the banner and the step-by-step hints show on the form pages, nothing scrolls
sideways, the steps link to their questions, axe-core (WCAG 2.2 AA) finds nothing.

Screenshots go to test-artifacts/; with MADOGUCHI_DOC_SCREENSHOTS=1 (run on purpose) the
ones docs/counter.md shows go to docs/images/counter-*.png as well.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from playwright.async_api import Page, expect

from forms.schemaform import SchemaForm
from tests.support.browser import continue_, fill_page, reload_until
from tests.support.stack import documents_of, eventually
from tests.support.wizard_pages import EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "counter"
IMAGES = ROOT / "docs" / "images"


async def _photo(page: Page, name: str) -> None:
    """A full-page screenshot in test-artifacts/, and in docs/images/ when asked for."""
    targets = [ARTIFACTS]
    if os.environ.get("MADOGUCHI_DOC_SCREENSHOTS") == "1":
        targets.append(IMAGES)
    for folder in targets:
        folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(folder / f"counter-{name}.png"), full_page=True)


async def _no_sideways_scroll(page: Page) -> None:
    wide = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"{page.url} scrolls sideways by {wide} px at 200 %"


async def test_the_assisted_mode_at_200_percent_zoom(kit, browser, portal):
    context = await browser.new_context(viewport={"width": 640, "height": 450},
                                        device_scale_factor=2, locale="ja-JP",
                                        base_url=portal.url)
    kit.contexts.append(context)
    page = await context.new_page()
    await kit.sign_in(page, "山田 太郎")
    await page.goto("/apply/131016/disaster-certificate")
    await page.get_by_role("link", name="支援員と使う").click()
    await expect(page.locator("h1")).to_have_text("支援員と一緒に申請する（サポートモード）")
    await _no_sideways_scroll(page)
    await kit.audit(page, "counter-assisted-choose")
    await page.get_by_label("支援員の番号").fill("DS-0012")
    await page.get_by_role("button", name="サポートモードにする").click()

    # Back on the page it was chosen on, now in the assisted mode.
    banner = page.locator("#assist-banner")
    await expect(banner).to_contain_text("デジタル活用支援員がお手伝いしています")
    await expect(banner).to_contain_text("DS-0012")
    assert await page.evaluate("document.documentElement.classList.contains('assisted')")
    await page.get_by_label("自分のために申請する").check()
    await continue_(page)

    steps = page.locator("#assist-steps")
    await expect(steps).to_contain_text("この画面ですること（2 / ")
    await expect(steps).to_contain_text("わからないときは、となりの支援員に聞いてください。")
    await _no_sideways_scroll(page)
    # A step's link takes the resident to its question.
    first = steps.locator("li a").first
    target = (await first.get_attribute("href") or "")[1:]
    await first.click()
    await expect(page.locator(f"[id='{target}']")).to_be_in_viewport()
    await kit.audit(page, "counter-assisted-form")
    await _photo(page, "assisted")
    # The text is larger than without the mode (the root's size, in CSS px).
    size = await page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert size >= 21, size

    # A life event's questionnaire has its steps too.
    await page.goto("/life-events/131016/disaster")
    await expect(page.locator("#assist-steps")).to_contain_text("この画面ですること（1 / ")
    await expect(page.locator("#assist-banner")).to_be_visible()
    await _no_sideways_scroll(page)
    await kit.audit(page, "counter-assisted-life-event")


async def test_the_printed_receipt_and_its_sealed_copy(kit, portal):
    """The 申請控え page of a filed 罹災証明書: axe 0, the print layout (no menus, the QR and
    the verify address kept), and the sealed copy it links to, rendered to PNG with
    pdftoppm (test-artifacts/ only)."""
    stack = portal.stack
    owner = stack.resident("demo-1", "山田 太郎")
    created = await stack.http.post("/api/applications", headers=owner, json={
        "procedure": "disaster-certificate", "municipality": "131016", "data": EXAMPLE})
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]

    async def copy_issued():
        view = (await stack.http.get(f"/api/applications/{app_id}", headers=owner)).json()
        return documents_of(view, "application-copy")

    await eventually(copy_issued)
    page = await kit.open()
    await kit.sign_in(page, "山田 太郎")
    await page.goto(f"/my/applications/{app_id}")
    await page.locator("#receipt-link").click()
    await expect(page.locator("h1")).to_have_text("申請控え")
    await kit.audit(page, "counter-receipt")
    await page.emulate_media(media="print")
    assert not await page.locator("header.header").is_visible()
    await expect(page.locator(".receipt__qr svg")).to_be_visible()
    await expect(page.locator(".receipt__url")).to_contain_text("/verify/")
    await _photo(page, "receipt-print")
    await page.emulate_media(media="screen")

    async with page.expect_download() as download:
        await page.locator(".receipt__copy a[download]").click()
    pdf = ARTIFACTS / "counter-receipt.pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await (await download.value).save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                    str(ARTIFACTS / "counter-receipt-pdf")], check=True, timeout=60)
    assert list(ARTIFACTS.glob("counter-receipt-pdf*.png"))


async def test_counter_staff_file_for_a_resident_without_a_token(kit, portal, catalog):
    """Counter staff open a session and fill the whole form on one page (1280 px), the
    resident reads the confirmation page in large type and confirms, the receipt prints;
    a caseworker's case page says it was filed at the counter. axe 0 on each."""
    staff_page = await kit.open()
    await kit.sign_in(staff_page, "千代田区 窓口担当")
    await staff_page.goto("/counter")
    await expect(staff_page.locator("h1")).to_have_text("窓口の受付を始める")
    await kit.audit(staff_page, "counter-open")
    await _photo(staff_page, "open")
    await staff_page.get_by_label("顔写真付きの本人確認書類").check()
    await staff_page.locator("#f-counter_id").fill("honcho-1F-3")
    await staff_page.locator("#f-name").fill("窓口 花子")
    await staff_page.locator("#f-birthdate").fill("1948/7/15")
    await staff_page.locator("#f-address").fill("東京都千代田区九段南1-2-1")
    await staff_page.locator("#f-address").press("Enter")  # keyboard first: Enter submits
    bar = staff_page.locator("#counter-bar")
    await expect(bar).to_contain_text("窓口 花子")
    await expect(bar).to_contain_text("自動で終了します")
    await kit.audit(staff_page, "counter-session")

    await staff_page.get_by_role("link", name="罹災証明書の交付申請").click()
    await expect(staff_page.locator("form.counter-form")).to_be_visible()
    form = SchemaForm(catalog.get("disaster-certificate").form_schema)
    for page_id in form.page_ids():  # every page's fields, all on this one page
        await fill_page(staff_page, form, page_id, EXAMPLE)
    await kit.audit(staff_page, "counter-form")
    await _photo(staff_page, "form")
    async with staff_page.expect_navigation():
        await staff_page.get_by_role("button", name="ご本人の確認へ進む").click()
    confirmation = staff_page.url
    assert "/f/" in confirmation, confirmation
    # The screen turned round to the resident: a second window on the same session.
    resident_view = await staff_page.context.new_page()
    await resident_view.goto(confirmation)
    await expect(resident_view.locator("h1")).to_have_text("申請する内容のご確認")
    await kit.audit(resident_view, "counter-confirm")
    await _photo(resident_view, "confirm")
    await resident_view.get_by_role("button", name="はい、この内容で申請します").click()
    await expect(resident_view.locator("h1")).to_have_text("申請控え")
    await reload_until(resident_view, "QRコードまたは次のアドレスで")
    await kit.audit(resident_view, "counter-receipt")
    await resident_view.emulate_media(media="print")
    await _photo(resident_view, "receipt")
    app_id = resident_view.url.split("/cases/")[1].split("/")[0]

    worker = await kit.open()
    await kit.sign_in(worker, "千代田区 受付・調査担当")
    await worker.goto(f"/staff/cases/{app_id}")
    await expect(worker.locator("#counter-filing")).to_contain_text(
        "千代田区 窓口担当 が窓口（honcho-1F-3）で受け付け。本人確認：顔写真付きの本人確認書類")
    await kit.audit(worker, "counter-staff-case")
