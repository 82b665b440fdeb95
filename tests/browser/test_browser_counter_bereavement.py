"""おくやみ at the counter through the pages, in a real Chromium (#19).

Counter staff open a session for 田中 一郎 (his father 田中 正雄 died; the real
``madoguchi dev-registry`` holds the household and the 除票), key the questionnaire once on
one dense page, tick the procedures, the resident confirms in large type, and the bundle's
page lists each procedure filed. Every department's queue has its case (保険年金課 /
介護保険課 / 高齢介護課); the same session files a 罹災証明書 through the counter form; later
田中 一郎 signs in with his card and sees every case in 「申請一覧」.
axe-core (WCAG 2.2 AA) on every new page. Screenshots to test-artifacts/counter/ (and
docs/images/ with MADOGUCHI_DOC_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from forms.catalog import Catalog
from forms.schemaform import SchemaForm
from identity.demo import demo_person
from portal.headers import CSP
from tests.support.browser import fill_page, reload_until
from tests.support.life_events import TOKYO, example
from tests.support.stack import eventually, running_stack
from tests.support.wizard_pages import EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
FILED = ("nhi-loss-of-eligibility", "ltc-loss-of-eligibility", "elderly-welfare-services-end")
DEPARTMENT_OF = {"nhi-loss-of-eligibility": "hoken-nenkin",
                 "ltc-loss-of-eligibility": "kaigo-hoken",
                 "elderly-welfare-services-end": "korei-kaigo"}


@pytest.fixture
async def stack(dev_env, tmp_path, sealed_documents, dev_registry):
    """The catalogue's own おくやみ (with Chiyoda's overlay) on the real dev registry."""
    catalog = Catalog.load()
    assert catalog.problems == []
    (tmp_path / "data").mkdir()
    async with running_stack(dev_env.client, tmp_path / "data", catalog, sealed_documents,
                             adapters=dev_registry.adapters()) as built:
        built.catalog = catalog  # type: ignore[attr-defined]
        yield built


async def _photo(page: Page, name: str) -> None:
    folders = [ROOT / "test-artifacts" / "counter"]
    if os.environ.get("MADOGUCHI_DOC_SCREENSHOTS") == "1":
        folders.append(ROOT / "docs" / "images")
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(folder / f"counter-{name}.png"), full_page=True)


def _answers(stack) -> dict:
    """What 田中 一郎 tells the staff: his father's death, himself as the child."""
    answers = example(stack, "bereavement", "spouse-nhi-ltc-funeral")
    answers["deceased"] = {
        **answers["deceased"], "birth_date": "1938-11-03", "date_of_death": "2026-09-20",
        "name": {"family": "田中", "given": "正雄", "family_kana": "タナカ",
                 "given_kana": "マサオ"}}
    answers["applicant"] = {**answers["applicant"], "relationship": "child", "name": {
        "family": "田中", "given": "一郎", "family_kana": "タナカ", "given_kana": "イチロウ"}}
    return answers


async def _queue(stack, department: str) -> set[str]:
    """A department's own caseworker's queue (保険年金課 / 介護保険課: the demo's)."""
    token = stack.issuer.issue_caseworker(f"cw-131016-{department}", [TOKYO],
                                          ["reviewer", "approver"], departments=[department])
    reply = await stack.http.get("/api/queue", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    return {row["id"] for row in reply.json()}


async def test_the_bereavement_bundle_filed_once_at_the_counter(kit, stack):
    ichiro = demo_person("demo-proxy")
    staff = await kit.open()
    await kit.sign_in(staff, "千代田区 窓口担当")
    await staff.goto("/counter")
    await staff.get_by_label("顔写真付きの本人確認書類").check()
    await staff.locator("#f-counter_id").fill("honcho-1F-3")
    await staff.locator("#f-name").fill(ichiro.name)
    await staff.locator("#f-birthdate").fill(ichiro.birthdate.strftime("%Y/%m/%d"))
    await staff.locator("#f-address").fill(ichiro.address)
    await staff.locator("#f-address").press("Enter")
    await expect(staff.locator("#counter-bar")).to_contain_text("田中 一郎")
    await expect(staff.locator("#unverified")).to_have_count(0)  # found in the registry
    await expect(staff.locator("#life-events")).to_contain_text("おくやみ")
    await kit.audit(staff, "counter-le-session")

    # The questionnaire, keyed once: every page's questions on one page.
    await staff.locator("#life-events").get_by_role("link", name="おくやみ").click()
    await expect(staff.locator("form.counter-form")).to_be_visible()
    form = SchemaForm(stack.catalog.life_event("bereavement", municipality=TOKYO).questionnaire)
    answers = _answers(stack)
    for page_id in form.page_ids():
        await fill_page(staff, form, page_id, answers)
    await kit.audit(staff, "counter-le-form")
    await _photo(staff, "bereavement-form")
    await staff.get_by_role("button", name="ご本人の確認へ進む").click()

    await expect(staff.locator("#error-summary")).to_have_count(0)
    # The procedures it offers, ticked; the 葬祭費 is left for later (unticked here).
    await expect(staff.locator("h1")).to_have_text("申請する手続きを選ぶ")
    for procedure in FILED:
        await expect(staff.locator(f"#offer-{procedure}")).to_be_checked()
    await staff.locator("#offer-funeral-expenses").uncheck()
    await kit.audit(staff, "counter-le-offers")
    async with staff.expect_navigation():
        await staff.get_by_role("button", name="ご本人の確認へ進む").click()
    confirmation = staff.url
    assert "/f/" in confirmation, confirmation

    # The resident reads it in large type and confirms.
    resident_view = await staff.context.new_page()
    await resident_view.goto(confirmation)
    await expect(resident_view.locator("h1")).to_have_text("申請する内容のご確認")
    await expect(resident_view.locator("#confirm")).to_contain_text("正雄")
    procedures = resident_view.locator("#confirm-procedures li")
    await expect(procedures).to_have_count(len(FILED))
    await expect(resident_view.locator("#confirm-procedures")).to_contain_text("国民健康保険")
    await kit.audit(resident_view, "counter-le-confirm")
    await _photo(resident_view, "bereavement-confirm")
    await resident_view.get_by_role("button", name="はい、この内容で申請します").click()

    # The bundle's page: each procedure filed, each with its receipt to print.
    await expect(resident_view.locator("h1")).to_have_text("申請した手続き")
    await expect(resident_view.locator("#filed")).to_be_visible()
    for procedure in FILED:
        await reload_until(resident_view, "申請控えを印刷", timeout=30)
        row = resident_view.locator(f"#member-{procedure}")
        await expect(row).to_be_visible()
    shown = await resident_view.reload()
    assert shown is not None and (await shown.all_headers())["content-security-policy"] == CSP
    await kit.audit(resident_view, "counter-le-bundle")
    await _photo(resident_view, "bereavement-bundle")

    async def every_receipt():
        await resident_view.reload()
        links = resident_view.locator("#members a")
        return await links.count() == len(FILED) or None

    await eventually(every_receipt, timeout=30)
    cases = {}
    for procedure in FILED:
        href = await resident_view.locator(f"#member-{procedure} a").get_attribute("href")
        cases[procedure] = href.split("/cases/")[1].split("/")[0]

    # The same session files a 罹災証明書 for him too, through the counter form.
    await staff.goto(f"/counter/s/{confirmation.split('/counter/s/')[1].split('/')[0]}")
    await staff.get_by_role("link", name="罹災証明書の交付申請").click()
    certificate = SchemaForm(stack.catalog.get("disaster-certificate").form_schema)
    for page_id in certificate.page_ids():
        await fill_page(staff, certificate, page_id, EXAMPLE)
    async with staff.expect_navigation():
        await staff.get_by_role("button", name="ご本人の確認へ進む").click()
    await staff.get_by_role("button", name="はい、この内容で申請します").click()
    await expect(staff.locator("h1")).to_have_text("申請控え")
    cases["disaster-certificate"] = staff.url.split("/cases/")[1].split("/")[0]

    # Every department's queue has its case, and only its own.
    async def fanned_out():
        queues = {d: await _queue(stack, d) for d in set(DEPARTMENT_OF.values())}
        return queues if all(cases[p] in queues[DEPARTMENT_OF[p]] for p in FILED) else None

    queues = await eventually(fanned_out, timeout=30)
    for procedure, case_id in cases.items():
        if procedure not in DEPARTMENT_OF:
            continue
        assert [d for d, ids in queues.items() if case_id in ids] == [DEPARTMENT_OF[procedure]]
    # A caseworker of every section sees them by department on the queue page.
    worker = await kit.open()
    await kit.sign_in(worker, "千代田区 受付・調査担当")
    for procedure, department in DEPARTMENT_OF.items():
        await worker.goto(f"/staff?department={department}")
        await expect(worker.locator(f"a[href='/staff/cases/{cases[procedure]}']")
                     ).to_have_count(1)

    # Later, online: 田中 一郎 signs in with his card and sees the cases as his.
    online = await kit.open()
    await kit.sign_in(online, "田中 一郎")
    await online.goto("/my")
    for procedure in (*FILED, "disaster-certificate"):
        await expect(online.locator(f"a[href='/my/applications/{cases[procedure]}']")
                     ).to_have_count(1)
    await kit.audit(online, "counter-le-online")
