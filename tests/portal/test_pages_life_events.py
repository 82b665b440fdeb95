"""The resident's life-event pages without a browser (ASGI), #18: the way in from the home
and procedures pages, choosing, the questionnaire prefilled with where each value came from
(a changed one becomes 「ご自身で入力」, the registry down is said), its problems shown at the
field, the offers with their reasons (the required one fixed, the dependent one said, the one
that does not apply and why), and the check page with the combined answers once.

With the ``flood`` life event of tests/support/lifeevents.py and no registry configured.
Filing and the status page need the bundle's workflow: tests/browser/test_browser_life_events.py.
"""

from __future__ import annotations

import html
import re

import httpx
import pytest

from forms.catalog import DEFAULT_ROOT, Catalog
from services.admission import Admission
from tests.support.lifeevents import write_flood
from tests.support.pages import csrf_of, signed_in
from tests.support.stack import running_stack

BASE = "/life-events/131016/flood"
APPLICANT = {"/applicant/name/family": "山田", "/applicant/name/given": "太郎",
             "/applicant/name/family_kana": "ヤマダ", "/applicant/name/given_kana": "タロウ",
             "/applicant/address/postal_code": "1000014", "/applicant/address/prefecture": "東京都",
             "/applicant/address/city": "千代田区",
             "/applicant/address/street": "永田町一丁目7番1号", "/applicant/phone": "0312345678"}


@pytest.fixture
async def flood_stack(dev_env, tmp_path, sealed_documents):
    write_flood(tmp_path / "catalog")
    catalog = Catalog.load(DEFAULT_ROOT, tmp_path / "catalog")
    assert catalog.problems == []
    (tmp_path / "data").mkdir()
    async with running_stack(dev_env.client, tmp_path / "data", catalog,
                             sealed_documents) as built:
        yield built


def _hidden(page: str, name: str) -> str | None:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


async def _post(http: httpx.AsyncClient, shown: str, page_id: str, fields: dict,
                nav: str = "next", url: str = BASE) -> httpx.Response:
    """Press a button of ``shown`` (the page as last answered): its state travels along."""
    state = {k: v for k in ("_draft", "_selected", "_key")
             if (v := _hidden(shown, k)) is not None}
    return await http.post(url, data={"csrf_token": csrf_of(shown), "_page": page_id,
                                      "_nav": nav, **state, **fields})


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def _through_questions(http: httpx.AsyncClient, *, owner: bool) -> str:
    first = await http.get(BASE)
    assert first.status_code == 200, first.text
    shown = first.text
    answers = [
        ("contact_name", {"/contact_name": "山田 花子"}),  # corrected: now declared
        ("disaster_event", {"/disaster_event": "2026-typhoon-15"}),
        ("applicant", APPLICANT),
        ("household_size", {"/household_size": "3"}),
        ("owner", {"/owner": "true" if owner else "false"}),
        ("damage", {"/damage/date": "2026-09-20", "/damage/description": "床上浸水"}),
    ]
    for page_id, fields in answers:
        answered = await _post(http, shown, page_id, fields)
        assert answered.status_code == 200, (page_id, _text(answered.text)[:2000])
        shown = answered.text
    return shown


async def test_the_way_in_and_choosing_what_happened(flood_stack):
    async with signed_in(flood_stack) as http:
        for url in ("/", "/procedures"):
            page = _text((await http.get(url)).text)
            assert "くらしの出来事から申請する" in page
            assert "水害にあった" in page and "罹災証明書と支援をまとめて申請します。" in page
        chooser = await http.get("/life-events?event=flood")
        assert chooser.status_code == 200
        assert re.search(r'value="flood" aria-describedby="[^"]+" checked', chooser.text)
        missing = await http.get("/life-events/start?event=flood")
        assert missing.status_code == 303
        assert missing.headers["location"] == "/life-events?problem=f-municipality&event=flood"
        again = _text((await http.get(missing.headers["location"])).text)
        assert "お住まいの市区町村: 選択してください" in again
        chosen = await http.get("/life-events/start?event=flood&municipality=131016")
        assert chosen.headers["location"] == BASE


async def test_prefilled_values_say_where_they_came_from_and_a_corrected_one_is_declared(
        flood_stack):
    async with signed_in(flood_stack) as http:
        first = await http.get(BASE)
        page = first.text
        assert 'value="山田 太郎"' in page  # the card's name, prefilled
        assert re.search(r'id="f-contact_name-source">マイナンバーカードで確認済み<', page)
        assert 'aria-describedby="f-contact_name-source' in page  # read with the input
        # No registry configured: the household could not be checked, and it says so.
        assert "世帯の情報を確認できませんでした" in _text(page)
        assert "「未確認」として申請され" in _text(page)
        kept = await _post(http, page, "contact_name", {"/contact_name": "山田 太郎"})
        back = await _post(http, kept.text, "disaster_event",
                           {"/disaster_event": "2026-typhoon-15"}, nav="back")
        assert "マイナンバーカードで確認済み" in back.text  # unchanged: still the card's
        changed = await _post(http, back.text, "contact_name", {"/contact_name": "山田 花子"})
        back = await _post(http, changed.text, "disaster_event", {}, nav="back")
        assert re.search(r'id="f-contact_name-source">ご自身で入力<', back.text)
        english = await http.get(BASE + "?lang=en")
        assert "Checked with your My Number card" in english.text


async def test_a_page_with_problems_is_shown_again_with_them_and_the_answers_kept(flood_stack):
    async with signed_in(flood_stack) as http:
        shown = (await http.get(BASE)).text
        for page_id, fields in (("contact_name", {}),
                                ("disaster_event", {"/disaster_event": "2026-typhoon-15"})):
            shown = (await _post(http, shown, page_id, fields)).text
        wrong = await _post(http, shown, "applicant", {"/applicant/name/family": "山田",
                                                       "/applicant/name/family_kana": "やまだ"})
        assert wrong.status_code == 422
        assert 'id="error-summary"' in wrong.text
        assert 'value="やまだ"' in wrong.text  # kept as typed
        assert "全角カタカナ" in _text(wrong.text)


async def test_offers_say_why_each_applies_or_not_and_the_check_page_shows_it_all_once(
        flood_stack):
    async with signed_in(flood_stack) as http:
        offers = await _through_questions(http, owner=True)
        text = _text(offers)
        assert "申請する手続きを選んでください" in text
        # The certificate is required: fixed, and sent without a box to tick.
        assert '<input type="hidden" name="procedure" value="disaster-certificate">' in offers
        assert re.search(r'id="offer-disaster-certificate" checked disabled', offers)
        assert "被害の証明に必要です。" in text and "必ず申請します" in text
        # The support waits for the certificate, and says so.
        assert re.search(r'name="procedure" value="flood-support" checked', offers)
        assert "「罹災証明書の交付申請」の結果を待って、自動で申請されます。" in text
        assert "持ち家が被害を受けました。" in text
        check = await _post(http, offers, "_offers", {"procedure": ["disaster-certificate",
                                                                    "flood-support"]})
        page = _text(check.text)
        assert check.status_code == 200 and "申請内容の確認" in page
        assert page.count("永田町一丁目7番1号") == 1  # the combined answers, once
        assert "山田 花子" in page and "ご自身で入力" in page
        assert "水害支援金" in page and "申請控え（電子印つきのPDF）は、手続きごとに1通" in page
        assert 'formaction="/life-events/131016/flood/submit"' in check.text
        # Unticking the support on the offers page leaves only the certificate.
        again = await _post(http, check.text, "_check", {}, nav="goto:_offers")
        assert re.search(r'name="procedure" value="flood-support" checked', again.text)
        only = await _post(http, again.text, "_offers", {"procedure": "disaster-certificate"})
        chosen = re.search(r'<ul id="chosen">(.*?)</ul>', only.text, re.S)
        assert chosen and "罹災証明書の交付申請" in chosen.group(1)
        assert "水害支援金" not in chosen.group(1)


async def test_a_procedure_that_does_not_apply_is_listed_with_why(flood_stack):
    async with signed_in(flood_stack) as http:
        offers = await _through_questions(http, owner=False)
        assert 'value="flood-support"' not in offers  # nothing to tick
        section = _text(offers.split("対象にならない手続き", 1)[1])
        assert "水害支援金" in section and "持ち家の方が対象です。" in section


@pytest.fixture
async def registry_stack(dev_env, tmp_path, sealed_documents, dev_registry):
    write_flood(tmp_path / "catalog")
    catalog = Catalog.load(DEFAULT_ROOT, tmp_path / "catalog")
    (tmp_path / "data").mkdir()
    async with running_stack(dev_env.client, tmp_path / "data", catalog, sealed_documents,
                             adapters=dev_registry.adapters()) as built:
        yield built


async def test_the_household_comes_from_the_resident_register_and_says_so(registry_stack,
                                                                          dev_registry):
    async with signed_in(registry_stack) as http:  # 山田 太郎: a household of three
        shown = (await http.get(BASE)).text
        assert "世帯の情報を確認できませんでした" not in _text(shown)
        for page_id, fields in (("contact_name", {}),
                                ("disaster_event", {"/disaster_event": "2026-typhoon-15"}),
                                ("applicant", APPLICANT)):
            shown = (await _post(http, shown, page_id, fields)).text
        assert 'value="3"' in shown
        assert re.search(r'id="f-household_size-source">住民基本台帳から<', shown)
        dev_registry.stop()  # the registry goes down: the resident is told, and types it
        down = _text((await http.get(BASE)).text)
        assert "世帯の情報を確認できませんでした" in down
        assert "住民基本台帳から" not in down


async def test_the_ledger_lists_the_caseworkers_disaster_events_only(flood_stack):
    async with signed_in(flood_stack, "cw-131016-1") as http:
        first = await http.get("/staff/ledger")
        assert first.status_code == 303  # the newest event of their municipality
        assert first.headers["location"] == (
            "/staff/ledger?municipality=131016&event=2026-typhoon-15")
        page = await http.get(first.headers["location"])
        assert page.status_code == 200, _text(page.text)[:1500]
        text = _text(page.text)
        assert "被災者台帳" in text and "令和8年7月豪雨" in text and "0 世帯" in text
        assert "横浜" not in text  # another municipality's events are not theirs
        csv = await http.get("/staff/ledger.csv?municipality=131016&event=2026-typhoon-15")
        assert csv.status_code == 200
        assert csv.content.startswith("\ufeff世帯主（申請者）".encode())
        other = await http.get("/staff/ledger.csv?municipality=141003&event=anything")
        assert other.status_code == 404
    async with signed_in(flood_stack) as http:  # a resident
        assert (await http.get("/staff/ledger")).status_code == 403


async def test_a_bundle_that_is_not_there_is_not_found_on_every_bundle_page(flood_stack):
    async with signed_in(flood_stack) as http:
        for url in ("/my/bundles/bnd-nothere", "/my/bundles/bnd-nothere/withdraw",
                    "/my/bundles/bnd-nothere/withdraw?procedure=disaster-certificate"):
            page = await http.get(url)
            assert page.status_code == 404, (url, page.status_code)
            assert "申請が見つかりません" in _text(page.text)
        shown = await http.get("/my")
        gone = await http.post("/my/bundles/bnd-nothere/withdraw",
                               data={"csrf_token": csrf_of(shown.text)})
        assert gone.status_code == 404
        assert (await http.post("/my/bundles/bnd-nothere/withdraw")).status_code == 403  # CSRF


async def test_a_submission_not_admitted_now_keeps_the_answers_on_the_check_page(flood_stack):
    """A surge: the bundle is refused ``busy`` (nothing filed); the resident sees why on the
    check page with every answer still there, and sending it again files it."""
    flood_stack.cases.admission = Admission(1, wait=0.0, retry_after=2)
    async with signed_in(flood_stack) as http:
        offers = await _through_questions(http, owner=True)
        check = await _post(http, offers, "_offers", {"procedure": ["disaster-certificate",
                                                                    "flood-support"]})
        async with flood_stack.cases.admission.slot():  # every slot is taken
            refused = await _post(http, check.text, "_check", {}, url=f"{BASE}/submit")
        page = _text(refused.text)
        assert refused.status_code == 503, page[:2000]
        assert refused.headers["retry-after"] == "2"
        assert "ただいま混み合っています。申請はまだ受け付けていません。" in page
        assert "申請内容の確認" in page and "永田町一丁目7番1号" in page and "山田 花子" in page
        filed = await _post(http, refused.text, "_check", {}, url=f"{BASE}/submit")
        assert filed.status_code == 303, _text(filed.text)[:2000]
        assert filed.headers["location"].startswith("/my/bundles/lev-")
        flood_stack.started.append(filed.headers["location"].split("/")[3].split("?")[0])
