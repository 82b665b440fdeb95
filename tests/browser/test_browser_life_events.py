"""A life event through the pages in a real Chromium (#18).

``test_questionnaire_offers_and_check_in_chromium`` runs on the ``flood`` life event of
tests/support/lifeevents.py: the way in from the home page, choosing, the questionnaire
with each prefilled value's source (one corrected → 「ご自身で入力」; no registry → the
"could not be checked" notice), the offers, the check page; the questionnaire at 200 % zoom
(reflows, no sideways scrolling, still answerable); axe-core (WCAG 2.2 AA) on every page met;
screenshots to test-artifacts/screenshots/ (docs/images/ with
MADOGUCHI_DOC_SCREENSHOTS=1, see tests/support/screenshots.py).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from forms.catalog import DEFAULT_ROOT, Catalog
from forms.pointers import resolve
from forms.schemaform import SchemaForm
from tests.support.browser import act, continue_, reload_until, typed
from tests.support.lifeevents import write_flood
from tests.support.screenshots import screenshot_folder
from tests.support.stack import running_stack


@pytest.fixture
async def stack(request, dev_env, tmp_path, sealed_documents):
    """The whole installation, with the ``flood`` life event beside the catalogue's own;
    with the real ``madoguchi dev-registry`` for a test that uses ``dev_registry``."""
    write_flood(tmp_path / "catalog")
    catalog = Catalog.load(DEFAULT_ROOT, tmp_path / "catalog")
    assert catalog.problems == []
    (tmp_path / "data").mkdir()
    adapters = None
    if "dev_registry" in request.fixturenames:
        adapters = request.getfixturevalue("dev_registry").adapters()
    async with running_stack(dev_env.client, tmp_path / "data", catalog, sealed_documents,
                             adapters=adapters) as built:
        built.catalog = catalog  # type: ignore[attr-defined]
        yield built


async def _photo(page: Page, name: str) -> None:
    await page.screenshot(path=str(screenshot_folder() / f"life-events-{name}.png"),
                          full_page=True)


async def test_questionnaire_offers_and_check_in_chromium(kit):
    resident = await kit.open()
    await kit.sign_in(resident, "山田 太郎")
    await resident.goto("/")
    entry = resident.locator("#life-events")
    await expect(entry).to_contain_text("くらしの出来事から申請する")
    await expect(entry).to_contain_text("罹災証明書と支援をまとめて申請します。")
    await kit.audit(resident, "life-events-home")
    await _photo(resident, "home")
    await entry.get_by_role("link", name="水害にあった").click()

    await expect(resident.locator("h1")).to_have_text("何がありましたか")
    await expect(resident.get_by_label("水害にあった")).to_be_checked()
    await kit.audit(resident, "life-events-choose")
    await resident.get_by_role("button", name="質問に答える").click()  # no municipality
    await expect(resident.get_by_role("alert")).to_contain_text("お住まいの市区町村")
    await resident.get_by_label("千代田区（東京都）").check()
    await resident.get_by_role("button", name="質問に答える").click()

    # The card's name is there, saying where it came from; no registry: said too.
    await expect(resident.locator("#f-contact_name")).to_have_value("山田 太郎")
    await expect(resident.locator("#f-contact_name-source")).to_have_text(
        "マイナンバーカードで確認済み")
    await expect(resident.locator("#registry-unavailable")).to_contain_text(
        "「未確認」として申請され")
    await kit.audit(resident, "life-events-questionnaire")
    await resident.fill("#f-contact_name", "山田 花子")  # corrected: now the resident's
    await continue_(resident)
    await resident.get_by_role("button", name="戻る").click()
    await expect(resident.locator("#f-contact_name-source")).to_have_text("ご自身で入力")
    await continue_(resident)

    await resident.get_by_label("令和8年台風第15号").check()
    await continue_(resident)
    await continue_(resident)  # the applicant left empty: its problems, at the top
    await expect(resident.locator("#error-summary")).to_be_visible()
    await kit.audit(resident, "life-events-questionnaire-error")
    await resident.fill("#f-applicant-name-family", "山田")
    await resident.fill("#f-applicant-name-given", "太郎")
    await resident.fill("#f-applicant-name-family_kana", "ヤマダ")
    await resident.fill("#f-applicant-name-given_kana", "タロウ")
    await resident.fill("#f-applicant-address-postal_code", "1000014")
    await resident.select_option("#f-applicant-address-prefecture", "東京都")
    await resident.fill("#f-applicant-address-city", "千代田区")
    await resident.fill("#f-applicant-address-street", "永田町一丁目7番1号")
    await resident.fill("#f-applicant-phone", "0312345678")
    await continue_(resident)
    await resident.fill("#f-household_size", "3")
    await continue_(resident)
    await resident.get_by_label("はい").check()
    await continue_(resident)
    await resident.fill("#f-damage-date", "2026-09-20")
    await resident.fill("#f-damage-description", "床上浸水")
    await continue_(resident)

    await expect(resident.locator("h1")).to_have_text("申請する手続きを選んでください")
    certificate = resident.get_by_label("罹災証明書の交付申請")
    await expect(certificate).to_be_checked()
    await expect(certificate).to_be_disabled()  # required: fixed
    await expect(resident.get_by_label("水害支援金")).to_be_checked()
    await expect(resident.locator("main")).to_contain_text(
        "「罹災証明書の交付申請」の結果を待って、自動で申請されます。")
    await kit.audit(resident, "life-events-offers")
    await continue_(resident)

    await expect(resident.locator("h1")).to_have_text("申請内容の確認")
    main = resident.locator("main")
    await expect(main).to_contain_text("山田 花子")
    await expect(main).to_contain_text("ご自身で入力")
    await expect(resident.locator("#chosen")).to_contain_text("水害支援金")
    await expect(main).to_contain_text("申請控え（電子印つきのPDF）は、手続きごとに1通")
    await kit.audit(resident, "life-events-check")


async def test_the_questionnaire_at_200_percent_zoom(kit, browser, portal):
    """WCAG 1.4.4 / 1.4.10: a 1280 px window at 200 % is 640 CSS px wide at 2 device pixels
    per CSS pixel; the page reflows (nothing to scroll sideways) and can be answered."""
    context = await browser.new_context(viewport={"width": 640, "height": 450},
                                        device_scale_factor=2, locale="ja-JP",
                                        base_url=portal.url)
    kit.contexts.append(context)
    page = await context.new_page()
    await kit.sign_in(page, "山田 太郎")
    await page.goto("/life-events/131016/flood")
    await expect(page.locator("#f-contact_name-source")).to_be_visible()
    wide = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"the page scrolls sideways by {wide} px at 200 %"
    await page.locator("#f-contact_name").scroll_into_view_if_needed()
    await continue_(page)
    await expect(page.get_by_label("令和8年台風第15号")).to_be_visible()
    wide = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0
    await kit.audit(page, "life-events-questionnaire-zoom")
    await _photo(page, "questionnaire-zoom")
    assert re.search(r"/life-events/131016/flood$", page.url)


DISASTER = json.loads((DEFAULT_ROOT / "life-events" / "disaster" / "examples"
                       / "total-family-builds.json").read_text("utf-8"))["answers"]


def _questionnaire(stack, event: str) -> SchemaForm:
    life_event = stack.catalog.life_event(event, municipality="131016")
    return SchemaForm(life_event.questionnaire, messages=life_event.messages,
                      municipality=stack.catalog.municipalities["131016"])


async def _answer_what_is_empty(page: Page, form: SchemaForm, page_id: str,
                                example: dict) -> None:
    """Answer what the page leaves empty with ``example``'s values, as a person types them;
    what was prefilled stays as it is."""
    for index, f in enumerate(form.page(page_id, example).leaves()):
        value = resolve(example, f.pointer, None)
        if value is None or f.kind in ("files", "array"):
            continue
        if f.kind in ("radios", "boolean"):
            group = page.locator(f'input[name="{f.pointer}"]')
            if not await group.count() or await page.locator(
                    f'input[name="{f.pointer}"]:checked').count():
                continue
            option = "true" if value is True else "false" if value is False else str(value)
            await page.locator(f'input[name="{f.pointer}"][value="{option}"]').check()
            continue
        box = page.locator(f"#{f.id}")
        if not await box.count():
            continue
        if f.kind == "select":
            if not await box.input_value():
                await box.select_option(str(value))
            continue
        if not await box.input_value():
            await box.fill(typed(f, value, index))


async def _through_the_questionnaire(page: Page, form: SchemaForm, example: dict,
                                     photo: str | None = None) -> None:
    """From the questionnaire's first page to the offers, answering what is empty."""
    for page_id in form.page_ids():
        await _answer_what_is_empty(page, form, page_id, example)
        await continue_(page)
        if await page.locator("#error-summary").count():
            raise AssertionError(f"{page_id}: " + await page.locator("#error-summary")
                                 .inner_text())
    await expect(page.locator("h1")).to_have_text("申請する手続きを選んでください")


@pytest.mark.usefixtures("dev_registry")
async def test_the_disaster_questionnaire_prefilled_from_card_register_and_account(kit, stack):
    """山田 太郎 (a household of three, an account registered): the card's birth date, the
    register's household and the account are prefilled, each saying so; the account he
    corrects is his own entry; the offers are the certificate (fixed) and the support that
    follows it; the check page shows it all once."""
    form = _questionnaire(stack, "disaster")
    resident = await kit.open()
    await kit.sign_in(resident, "山田 太郎")
    await resident.goto("/life-events?event=disaster")
    await resident.get_by_label("千代田区（東京都）").check()
    await resident.get_by_role("button", name="質問に答える").click()
    await expect(resident).to_have_url(re.compile(r"/life-events/131016/disaster$"))
    seen: dict[str, str] = {}
    for page_id in form.page_ids():
        await expect(resident.locator("main form")).to_be_visible()
        for badge in await resident.locator("p.source").all():
            seen[await badge.get_attribute("id") or ""] = await badge.inner_text()
        if page_id == "household_size":
            await _photo(resident, "questionnaire")
        if page_id == "bank_account":
            await kit.audit(resident, "life-events-questionnaire-account")
            await _photo(resident, "questionnaire-account")
            number = resident.locator("#f-bank_account-account_number")
            await expect(number).to_have_value("1234567")  # 公金受取口座
            await number.fill("7654321")
        await _answer_what_is_empty(resident, form, page_id, DISASTER)
        await continue_(resident)
        assert not await resident.locator("#error-summary").count(), (
            page_id, await resident.locator("main").inner_text())
    assert seen.get("f-applicant-birth_date-source") == "マイナンバーカードで確認済み", seen
    assert seen.get("f-household_size-source") == "住民基本台帳から", seen
    assert seen.get("f-household_members-source") == "住民基本台帳から", seen
    assert seen.get("f-bank_account-source") == "公金受取口座から", seen

    await expect(resident.locator("h1")).to_have_text("申請する手続きを選んでください")
    await expect(resident.get_by_label("罹災証明書の交付申請")).to_be_disabled()
    support = resident.get_by_label("被災者生活再建支援金 支給申請")
    await expect(support).to_be_checked()
    await expect(resident.locator("main")).to_contain_text(
        "「罹災証明書の交付申請」の結果を待って、自動で申請されます。")
    await kit.audit(resident, "life-events-offers-disaster")
    await _photo(resident, "offers")
    await continue_(resident)
    await expect(resident.locator("h1")).to_have_text("申請内容の確認")
    main = resident.locator("main")
    await expect(main).to_contain_text("マイナンバーカードで確認済み")
    await expect(main).to_contain_text("住民基本台帳から")
    await expect(main).to_contain_text("ご自身で入力")  # the account he changed
    await expect(main).to_contain_text("7654321")
    await kit.audit(resident, "life-events-check-disaster")
    await _photo(resident, "check")


# ---- the whole bundle ---------------------------------------------------------------------

SUPPORT = "livelihood-recovery-support"
CERTIFICATE = "disaster-certificate"


async def _submit_disaster(kit, who: str, example: dict, stack) -> Page:
    """``who`` answers the 被災した questionnaire and presses 「まとめて申請する」."""
    resident = await kit.open()
    await kit.sign_in(resident, who)
    await resident.goto("/life-events?event=disaster")
    await resident.get_by_label("千代田区（東京都）").check()
    await resident.get_by_role("button", name="質問に答える").click()
    await expect(resident).to_have_url(re.compile(r"/life-events/131016/[a-z-]+$"))
    await _through_the_questionnaire(resident, _questionnaire(stack, "disaster"), example)
    await continue_(resident)
    await expect(resident.locator("h1")).to_have_text("申請内容の確認")
    async with resident.expect_navigation():
        await resident.get_by_role("button", name="まとめて申請する").click()
    return resident


async def _file_disaster(kit, who: str, example: dict, stack) -> tuple[Page, str]:
    """``who`` files the 被災した bundle through the pages; their page and the status URL."""
    resident = await _submit_disaster(kit, who, example, stack)
    await expect(resident.locator("#filed")).to_contain_text("申請しました")
    status_url = resident.url.split("?", 1)[0]
    assert re.search(r"/my/bundles/[^/]+$", status_url), status_url
    return resident, status_url


async def _case_of(page: Page, procedure: str) -> str:
    link = page.locator(f"#member-{procedure} a", has_text="詳しく見る")
    href = await link.get_attribute("href")
    assert href and href.startswith("/my/applications/"), href
    return href.rsplit("/", 1)[1]


async def _reload_until_in(page: Page, selector: str, text: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in await page.locator(selector).inner_text():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{text!r} not in {selector} of {page.url}")
        await asyncio.sleep(0.5)
        await page.reload()


async def _certificate_total(staff: Page, approver: Page, case_id: str) -> None:
    """The 罹災証明書 worked to 全壊 through the staff pages (the survey at 55 %, a second
    caseworker's decision)."""
    await staff.goto(f"/staff/cases/{case_id}")
    await expect(staff.locator("#bundle")).to_contain_text("被災者生活再建支援金")
    await act(staff, "受理する")
    await staff.fill("#f-damage_ratio", "55")
    await staff.fill("#f-surveyed_on", "2026-09-25")
    await staff.get_by_role("button", name="調査結果を登録する").click()
    await staff.get_by_role("button", name="行う").click()
    await approver.goto(f"/staff/cases/{case_id}")
    await act(approver, "決裁する")


async def _staff(kit) -> tuple[Page, Page]:
    """千代田区's caseworker and a second one who decides (four eyes), signed in once each
    (the sign-in page takes 10 a minute from one address)."""
    staff, approver = await kit.open(), await kit.open()
    await kit.sign_in(staff, "千代田区 受付・調査担当")
    await kit.sign_in(approver, "千代田区 決裁者")
    return staff, approver


@pytest.mark.usefixtures("dev_registry")
async def test_the_disaster_bundle_once_through_the_pages(kit, stack):
    """Done when (#18): filed once; the certificate worked to 全壊 on the staff pages; the
    support grant filed by itself with grade and amount on the one status page; the spouse
    pointed to the bundle; a one-person household's grant at ¾; the 被災者台帳 and its CSV."""
    resident, status_url = await _file_disaster(kit, "山田 太郎", DISASTER, stack)
    await expect(resident.locator(f"#member-{SUPPORT}")).to_contain_text(
        "ほかの手続きの結果を待っています")
    await reload_until(resident, "申請控え: ダウンロード（PDF）")
    await expect(resident.locator("main")).to_contain_text("手続きごとに、申請控えと")
    await kit.audit(resident, "life-events-status-filed")
    await _photo(resident, "status-filed")
    await resident.goto("/my")
    await expect(resident.locator("#bundles-title")).to_be_visible()  # above the cases
    await kit.audit(resident, "life-events-my")

    # The spouse: the household's bundle is known once the disaster is named; she is
    # pointed to it instead of filing a second one.
    spouse = await _submit_disaster(kit, "山田 花子", DISASTER, stack)
    await expect(spouse.locator("h1")).to_have_text("ご家族がすでに申請しています")
    await kit.audit(spouse, "life-events-existing")
    await _photo(spouse, "existing")
    await spouse.get_by_role("link", name="申請の状況を見る").click()
    await expect(spouse.locator("#household")).to_be_visible()
    await expect(spouse.locator(f"#member-{CERTIFICATE}")).to_be_visible()

    staff, approver = await _staff(kit)
    await resident.goto(status_url)
    await staff.goto(f"/staff/cases/{await _case_of(resident, CERTIFICATE)}")
    await kit.audit(staff, "life-events-staff-case-bundle")
    await _photo(staff, "staff-case-bundle")
    await _certificate_total(staff, approver, await _case_of(resident, CERTIFICATE))
    await resident.goto(status_url)
    await _reload_until_in(resident, f"#member-{CERTIFICATE}", "全壊")
    await _reload_until_in(resident, f"#member-{SUPPORT}", "審査中")  # filed by itself
    await staff.goto(f"/staff/cases/{await _case_of(resident, SUPPORT)}")
    await act(staff, "支給額を算定する")
    await _reload_until_in(resident, f"#member-{SUPPORT}", "支給額")
    # 基礎 ¥1,000,000 (全壊) + 加算 ¥2,000,000 (build or buy), one status with the grade.
    await expect(resident.locator(f"#member-{SUPPORT}")).to_contain_text("¥3,000,000")
    await expect(resident.locator(f"#member-{SUPPORT}")).to_contain_text("全壊")
    await kit.audit(resident, "life-events-status-granted")
    await _photo(resident, "status")

    # 鈴木 キヨ lives alone: the same grade and plan, ¾ of it.
    alone = {**DISASTER, "applicant": {**DISASTER["applicant"],
                                       "name": {"family": "鈴木", "given": "キヨ",
                                                "family_kana": "スズキ", "given_kana": "キヨ"}}}
    kiyo, kiyo_url = await _file_disaster(kit, "鈴木 キヨ", alone, stack)
    await _certificate_total(staff, approver, await _case_of(kiyo, CERTIFICATE))
    await kiyo.goto(kiyo_url)
    await _reload_until_in(kiyo, f"#member-{SUPPORT}", "審査中")
    await staff.goto(f"/staff/cases/{await _case_of(kiyo, SUPPORT)}")
    await act(staff, "支給額を算定する")
    await _reload_until_in(kiyo, f"#member-{SUPPORT}", "¥2,250,000")  # ¾ of ¥3,000,000

    # A second caseworker decides 山田 太郎's grant: the 被災者台帳 shows the amount.
    await approver.goto(f"/staff/cases/{await _case_of(resident, SUPPORT)}")
    await act(approver, "支給を決定する")
    await staff.goto("/staff/ledger?municipality=131016&event=2026-typhoon-15")
    await _reload_until_in(staff, "main", "¥3,000,000")
    await expect(staff.locator("main")).to_contain_text("山田 太郎")
    await expect(staff.locator("main")).to_contain_text("全壊")
    await kit.audit(staff, "life-events-ledger")
    await _photo(staff, "ledger")
    async with staff.expect_download() as download_info:
        await staff.locator("#ledger-csv").click()
    saved = await (await download_info.value).path()
    table = Path(saved).read_bytes().decode("utf-8-sig")
    assert "山田 太郎" in table and "鈴木 キヨ" in table and "全壊" in table
    assert "3000000" in table

    # Withdrawing one procedure: confirmed first, then said.
    await resident.goto(status_url)
    withdraw = resident.locator(f"#member-{CERTIFICATE} a", has_text="この手続きを取り下げる")
    if await withdraw.count():  # the certificate is issued: nothing of it to withdraw
        raise AssertionError("an issued certificate cannot be withdrawn")
    await resident.goto(status_url + "/withdraw")
    await expect(resident.locator("h1")).to_have_text("すべての手続きを取り下げますか")
    await kit.audit(resident, "life-events-withdraw")
    await resident.get_by_role("button", name="取り下げる").click()
    await expect(resident.locator("#done")).to_contain_text("すべて取り下げました")


@pytest.mark.usefixtures("dev_registry")
async def test_the_birth_bundle_through_the_pages(kit, stack):
    example = json.loads((DEFAULT_ROOT / "life-events" / "birth" / "examples"
                          / "mother-first-child.json").read_text("utf-8"))["answers"]
    resident = await kit.open()
    await kit.sign_in(resident, "山田 花子")
    await resident.goto("/life-events?event=birth")
    await resident.get_by_label("千代田区（東京都）").check()
    await resident.get_by_role("button", name="質問に答える").click()
    await expect(resident).to_have_url(re.compile(r"/life-events/131016/[a-z-]+$"))
    await _through_the_questionnaire(resident, _questionnaire(stack, "birth"), example)
    await kit.audit(resident, "life-events-offers-birth")
    await _photo(resident, "offers-birth")
    await continue_(resident)
    async with resident.expect_navigation():
        await resident.get_by_role("button", name="まとめて申請する").click()
    await expect(resident.locator("#filed")).to_contain_text("申請しました")
    for procedure in ("child-allowance", "child-medical-subsidy"):
        await expect(resident.locator(f"#member-{procedure}")).to_be_visible()
    await reload_until(resident, "申請控え: ダウンロード（PDF）")
    await kit.audit(resident, "life-events-status-birth")
