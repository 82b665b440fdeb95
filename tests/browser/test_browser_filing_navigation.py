"""Moving around a form in Chromium (issue #17): Back and Forward only repeat GETs (no
"Confirm Form Resubmission"), a language switch mid-form keeps the answers, and a
double click on 「この内容で申請する」 files once and shows the filed application."""

from __future__ import annotations

import asyncio
import json
import re

from playwright.async_api import Request, expect

from forms.catalog import DEFAULT_ROOT
from forms.municipalities import load_municipalities
from forms.schemaform import SchemaForm
from tests.support.browser import fill_page

MUNICIPALITY = "131016"
RESIDENT = ("demo-1", "山田 太郎")
EXAMPLE = json.loads(
    (DEFAULT_ROOT / "disaster-certificate" / "examples" / "valid-basic.json").read_text("utf-8"))


async def test_back_forward_language_switch_and_double_click(kit, stack):
    procedure = stack.http._transport.app.state.portal.catalog.get("disaster-certificate")
    form = SchemaForm(procedure.form_schema, messages=procedure.messages,
                      municipality=load_municipalities()[MUNICIPALITY])
    page = await kit.open(javascript=True)
    await kit.sign_in(page, RESIDENT[1])
    sent: list[Request] = []
    page.on("request", lambda r: sent.append(r) if r.is_navigation_request() else None)

    await page.goto(f"/apply/{MUNICIPALITY}/disaster-certificate")
    await page.get_by_label("自分のために申請する").check()
    await page.get_by_role("button", name="次へ進む").click()
    for page_id in ("disaster_event", "applicant"):
        await expect(page.locator("input[name=_page]")).to_have_value(page_id)
        await fill_page(page, form, page_id, EXAMPLE)
        await page.get_by_role("button", name="次へ進む").click()
    await expect(page.locator("h1")).to_have_text("被害を受けた建物")
    family = EXAMPLE["applicant"]["name"]["family"]

    # Back and Forward: GETs of the pages' own URLs, the answers there.
    sent.clear()
    await page.go_back()
    await expect(page.locator("h1")).to_have_text("申請者")
    await expect(page.locator("#f-applicant-name-family")).to_have_value(family)
    await page.go_back()
    await expect(page.locator(
        f'input[name="/disaster_event"][value="{EXAMPLE["disaster_event"]}"]')).to_be_checked()
    await page.go_forward()
    await page.go_forward()
    await expect(page.locator("h1")).to_have_text("被害を受けた建物")
    assert sent and {r.method for r in sent} == {"GET"}, [(r.method, r.url) for r in sent]

    # The language switch mid-form keeps every answer.
    await page.go_back()
    await page.get_by_role("link", name="Switch to English").click()
    await expect(page.locator("h1")).to_have_text("Applicant")
    await expect(page.locator("#f-applicant-name-family")).to_have_value(family)
    await expect(page.locator("#f-applicant-address-prefecture option:checked")).to_have_text(
        "Tokyo")
    await page.get_by_role("link", name="日本語に切り替える").click()
    await page.get_by_role("button", name="次へ進む").click()

    for page_id in form.page_ids()[2:]:
        await expect(page.locator("input[name=_page]")).to_have_value(page_id)
        await fill_page(page, form, page_id, EXAMPLE)
        await page.get_by_role("button", name="次へ進む").click()
    await expect(page.locator("h1")).to_have_text("申請内容の確認")

    # A second press while the server answers (held here for a moment) sends nothing: the
    # button is disabled; the page then shows the filed application, not a refusal.
    held: list[str] = []

    async def slowly(route):
        held.append(route.request.method)
        await asyncio.sleep(1.0)
        await route.continue_()

    await page.route(re.compile(r".*/_submit$"), slowly)
    button = page.get_by_role("button", name="この内容で申請する")
    await button.scroll_into_view_if_needed()
    box = await button.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.click(x, y)
    await asyncio.sleep(0.3)  # the first request is on its way, the page still shown
    await page.mouse.click(x, y)  # (the mouse: a locator would wait for the navigation)
    await expect(page.get_by_role("status")).to_contain_text("申請を受け付けました")
    assert held == ["POST"], held
    cases = await stack.http.get("/api/applications", headers=stack.resident(*RESIDENT))
    assert len(cases.json()) == 1, cases.text
