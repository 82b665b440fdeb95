"""The resident's filing pages without a browser (ASGI), issue #17: one URL per page with
post/redirect/get, answers kept in the draft across a language switch, a draft reopening at
its page, a repeated 「申請する」 answered with the filed application, a refused filing
keeping every answer."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import urlsplit

import httpx

from forms.schemaform import SchemaForm
from tests.support.pages import csrf_of, signed_in
from tests.support.wizard_pages import (
    BASE,
    EXAMPLE,
)
from tests.support.wizard_pages import answers as _answers
from tests.support.wizard_pages import form as _form
from tests.support.wizard_pages import post as _post
from tests.support.wizard_pages import start as _start


async def _fill_all(http: httpx.AsyncClient, form: SchemaForm, data: dict) -> str:
    """Every page answered from ``data``; the URL of the check page."""
    draft_id, url = await _start(http)
    for page_id in form.page_ids():
        assert url.endswith(f"/{page_id}"), url
        answer = await _post(http, url, page_id, _answers(form, page_id, data))
        assert answer.status_code == 303, answer.text
        url = answer.headers["location"]
    assert url == f"{BASE}/d/{draft_id}/_check"
    return url


async def test_every_page_has_its_url_and_a_post_answers_with_a_redirect(stack):
    form = _form(stack)
    async with signed_in(stack) as http:
        _, url = await _start(http)
        assert url.endswith("/disaster_event")
        page = await http.get(url)
        assert page.status_code == 200 and 'name="_page" value="disaster_event"' in page.text
        assert 'name="_draft"' not in page.text  # the answers are on the server
        moved = await _post(http, url, "disaster_event", _answers(form, "disaster_event",
                                                                    EXAMPLE))
        assert moved.status_code == 303 and moved.headers["location"].endswith("/applicant")
        back = await _post(http, moved.headers["location"], "applicant", {}, nav="back")
        assert back.status_code == 303 and back.headers["location"] == url
        again = await http.get(url)  # what Back shows: a GET, with the answer kept
        assert 'value="' + EXAMPLE["disaster_event"] + '" checked' in again.text
        # A page with problems is shown at once (not a redirect), what it holds kept.
        wrong = await _post(http, moved.headers["location"], "applicant",
                            {"/applicant/name/family": "佐藤"})
        assert wrong.status_code == 422 and 'value="佐藤"' in wrong.text


async def test_a_language_switch_keeps_the_answers(stack):
    form = _form(stack)
    async with signed_in(stack) as http:
        _, url = await _start(http)
        moved = await _post(http, url, "disaster_event",
                            _answers(form, "disaster_event", EXAMPLE))
        applicant = moved.headers["location"]
        await _post(http, applicant, "applicant", {"/applicant/name/family": "佐藤",
                                                   "/applicant/phone": "+81 3-1234-5678"})
        english = await http.get(applicant + "?lang=en")
        assert english.status_code == 200 and 'lang="en"' in english.text
        assert 'value="佐藤"' in english.text and 'value="0312345678"' in english.text


async def test_a_draft_reopens_at_the_page_where_it_was_left(stack):
    form = _form(stack)
    async with signed_in(stack) as http:
        draft_id, url = await _start(http)
        for page_id in ("disaster_event", "applicant"):
            answer = await _post(http, url, page_id, _answers(form, page_id, EXAMPLE))
            url = answer.headers["location"]
        assert url.endswith("/property")
    async with signed_in(stack) as other_device:
        listing = await other_device.get("/my/drafts")
        assert f"draft={draft_id}" in listing.text
        resumed = await other_device.get(f"{BASE}?draft={draft_id}")
        assert resumed.status_code == 303
        assert resumed.headers["location"] == f"{BASE}/d/{draft_id}/property"
        shown = await other_device.get(resumed.headers["location"])
        assert 'name="_page" value="property"' in shown.text


async def test_a_repeated_submission_answers_with_the_filed_application(stack):
    form = _form(stack)
    async with signed_in(stack) as http:
        check = await _fill_all(http, form, EXAMPLE)
        page = await http.get(check)
        assert "data-submit-once" in page.text and "/static/forms.js" in page.text
        submit = urlsplit(check).path.rsplit("/", 1)[0] + "/_submit"
        token = {"csrf_token": csrf_of(page.text)}
        first, second = await asyncio.gather(http.post(submit, data=token),
                                             http.post(submit, data=token))
        assert (first.status_code, second.status_code) == (303, 303), second.text
        assert first.headers["location"] == second.headers["location"]
        assert re.fullmatch(r"/my/applications/app-[a-z0-9]+\?filed=1",
                            first.headers["location"])
        later = await http.post(submit, data=token)  # the Back button, then 申請する again
        assert later.status_code == 303
        assert later.headers["location"] == first.headers["location"]
        app_id = first.headers["location"].split("/")[-1].split("?")[0]
        filed = await stack.http.get(f"/api/applications/{app_id}",
                                     headers=stack.resident("demo-1", "山田 太郎"))
        assert filed.json()["data"] == EXAMPLE
        assert "一時保存した申請はありません" in (await http.get("/my/drafts")).text


async def test_a_refused_filing_keeps_every_answer_and_links_only_to_an_own_case(stack):
    form = _form(stack)
    async with signed_in(stack) as http:
        check = await _fill_all(http, form, EXAMPLE)
        submit = urlsplit(check).path.rsplit("/", 1)[0] + "/_submit"
        page = await http.get(check)
        filed = await http.post(submit, data={"csrf_token": csrf_of(page.text)})
        own = filed.headers["location"].split("?")[0]
        # The same application again, from a new draft: refused, answers all there.
        check = await _fill_all(http, form, EXAMPLE)
        submit = urlsplit(check).path.rsplit("/", 1)[0] + "/_submit"
        page = await http.get(check)
        refused = await http.post(submit, data={"csrf_token": csrf_of(page.text)})
        assert refused.status_code == 409
        assert "申請できませんでした" in refused.text and "入力した内容はすべて残っています" in (
            refused.text)
        assert EXAMPLE["applicant"]["address"]["street"] in refused.text
        assert 'value="goto:applicant"' in refused.text  # go back and change them
        assert f'href="{own}"' in refused.text  # the resident's own case: linked
        kept = await http.get(check)
        assert kept.status_code == 200 and EXAMPLE["damage"]["description"] in kept.text


async def test_a_text_size_option_is_remembered_and_stays_on_the_site(stack):
    async with signed_in(stack) as http:
        before = await http.get("/procedures")
        assert 'class="text-large"' not in before.text and "文字を大きくする" in before.text
        chosen = await http.get("/prefs/text-size", params={"size": "large",
                                                            "next": "/procedures?lang=ja"})
        assert chosen.status_code == 303 and chosen.headers["location"] == "/procedures?lang=ja"
        after = await http.get("/procedures")
        assert 'class="text-large"' in after.text and "文字を標準の大きさにする" in after.text
        for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            away = await http.get("/prefs/text-size", params={"next": elsewhere})
            assert away.headers["location"].startswith("/") and not away.headers[
                "location"].startswith(("//", "/\\")), elsewhere


async def test_a_residents_step_with_data_is_filed_on_its_page(stack, catalog):
    """The grant's 実績報告 through the pages (it was API-only): field errors keep what was
    typed, "add another" adds an expense, and a valid report moves the case on."""
    example = json.loads((catalog.get("sme-telework-grant").directory / "examples" /
                          "valid-sole-proprietor.json").read_text("utf-8"))
    owner = stack.resident("demo-1", "山田 太郎")
    created = await stack.http.post("/api/applications", headers=owner, json={
        "procedure": "sme-telework-grant", "municipality": "131016", "data": example})
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    for headers, action in ((stack.caseworker("cw-1", roles="reviewer"), "accept"),
                            (stack.caseworker("cw-2", roles="approver"), "decide_grant")):
        done = await stack.http.post(f"/api/applications/{app_id}/actions", headers=headers,
                                     json={"action": action})
        assert done.status_code == 200, done.text
    url = f"/my/applications/{app_id}/act/submit_report"
    async with signed_in(stack, "demo-1") as http:
        page = await http.get(url)
        assert page.status_code == 200 and 'name="/summary"' in page.text
        form = {"csrf_token": csrf_of(page.text), "_draft": "{}", "/completed_on": "2027/2/20",
                "/summary": "", "/teleworkers": "2", "/expenses/0/category": "equipment",
                "/expenses/0/description": "ノートPC 2台", "/expenses/0/amount": "280,000",
                "/expenses/0/receipt_no": "R-2027-0012"}
        refused = await http.post(url, data=form)
        assert refused.status_code == 422 and 'id="error-summary"' in refused.text
        assert "ノートPC 2台" in refused.text  # what was typed is kept
        added = await http.post(url, data={**form, "_nav": "add:/expenses"})
        assert added.status_code == 200 and 'name="/expenses/1/amount"' in added.text
        sent = await http.post(url, data={**form, "/summary": "在宅勤務を週3日実施した。"})
        assert sent.status_code == 303, sent.text
    staff = await stack.http.get(f"/api/applications/{app_id}",
                                 headers=stack.caseworker("cw-1"))
    report = staff.json()["step_data"]["submit_report"]
    assert report["completed_on"] == "2027-02-20" and report["expenses"][0]["amount"] == 280000


async def test_the_check_page_reads_as_the_copy_and_the_caseworker_read(stack):
    """Dates and amounts on 申請内容の確認 in the pages' one format (not 2026-09-20)."""
    async with signed_in(stack) as http:
        check = await _fill_all(http, _form(stack), EXAMPLE)
        page = (await http.get(check)).text
    assert "令和8年9月20日" in page and "2026-09-20" not in page
