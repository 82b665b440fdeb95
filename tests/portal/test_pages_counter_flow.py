"""A counter filing through the pages (#19), without a browser: counter staff open a
session for a resident with no token (the registry cannot confirm them: marked not
verified), the session bar says who, how checked and until when; a 罹災証明書 prepared for
them is shown on the resident's confirmation page in plain words; 「はい、この内容で申請します」
files it once (a second press answers with the same case) and leads to the printed
receipt with the sealed copy; closing the session ends it."""

from __future__ import annotations

import re

from tests.support.filing import example
from tests.support.pages import csrf_of, signed_in
from tests.support.stack import eventually
from tests.support.wizard_pages import answers, form

FACTS = {"name": "窓口 花子", "name_kana": "マドグチ ハナコ", "birthdate": "1948/7/15",
         "address": "東京都千代田区九段南1-2-1"}


async def test_counter_staff_file_for_the_resident_present_and_print_the_receipt(stack,
                                                                                 catalog):
    async with signed_in(stack, "demo-counter") as http:
        start = await http.get("/counter")
        opened = await http.post("/counter/sessions", data={
            "csrf_token": csrf_of(start.text), "method": "photo_id",
            "counter_id": "honcho-1F-3", **FACTS})
        assert opened.status_code == 303, opened.text
        session_url = opened.headers["location"]
        session_id = re.fullmatch(r"/counter/s/([^/]+)", session_url).group(1)
        shown = (await http.get(session_url)).text
        bar = re.search(r'<div class="counter-bar".*?</div>', shown, re.S).group(0)
        assert "窓口 花子" in bar and "顔写真付きの本人確認書類" in bar and "honcho-1F-3" in bar
        assert "自動で終了します" in bar
        assert "罹災証明書の交付申請" in shown

        staff = stack.caseworker("demo-counter", roles="counter")
        prepared = await stack.http.post(
            f"/api/counter/sessions/{session_id}/filings", headers=staff,
            json={"procedure_id": "disaster-certificate", "data": example(catalog)})
        assert prepared.status_code == 201, prepared.text
        filing_id = prepared.json()["id"]

        confirm_url = f"/counter/s/{session_id}/f/{filing_id}"
        page = (await http.get(confirm_url)).text
        assert "申請する内容のご確認" in page and "はい、この内容で申請します" in page
        assert example(catalog)["damage"]["description"] in page
        done = await http.post(confirm_url + "/confirm", data={"csrf_token": csrf_of(page)})
        assert done.status_code == 303, done.text
        receipt_url = done.headers["location"]
        assert re.fullmatch(rf"/counter/s/{session_id}/cases/app-[a-z0-9]+/receipt",
                            receipt_url), receipt_url
        again = await http.post(confirm_url + "/confirm", data={"csrf_token": csrf_of(page)})
        assert again.headers["location"] == receipt_url  # filed once

        async def with_copy():
            html = (await http.get(receipt_url)).text
            return html if 'class="receipt__qr"' in html else None

        receipt = await eventually(with_copy)
        assert "<h1>申請控え</h1>" in receipt and 'id="counter-bar"' in receipt

        closed = await http.post(f"/counter/s/{session_id}/close",
                                 data={"csrf_token": csrf_of(receipt)})
        assert closed.status_code == 303
        gone = await http.get(session_url)
        assert gone.status_code == 404 and "もう一度受付を始めてください" in gone.text


async def test_the_counter_form_is_one_dense_page_that_prepares_the_filing(stack, catalog):
    """Every field of the 罹災証明書 on one page; empty → 422 with the problems at their
    fields; answered → the resident's confirmation page (nothing filed before it)."""
    data = example(catalog)
    wizard = form(stack)
    posted = {k: v for page_id in wizard.page_ids() for k, v in
              answers(wizard, page_id, data).items()}
    async with signed_in(stack, "demo-counter") as http:
        start = await http.get("/counter")
        opened = await http.post("/counter/sessions", data={
            "csrf_token": csrf_of(start.text), "method": "card_face",
            "counter_id": "honcho-1F-3", **FACTS})
        session_url = opened.headers["location"]
        session_page = (await http.get(session_url)).text
        url = f"{session_url}/apply/disaster-certificate"
        assert f'href="{url}"' in session_page
        page = await http.get(url)
        assert page.status_code == 200 and 'class="counter-form"' in page.text
        for f in (f for top in wizard.all_fields(data) for f in top.walk()
                  if not f.is_group and f.kind != "files"):
            assert f'id="{f.id}"' in page.text, f.id  # every input, one page
        empty = await http.post(url, data={"csrf_token": csrf_of(page.text), "_nav": "prepare"})
        assert empty.status_code == 422 and "error-summary" in empty.text
        ready = await http.post(url, data={"csrf_token": csrf_of(page.text), "_nav": "prepare",
                                           **posted})
        assert ready.status_code == 303, ready.text
        assert re.fullmatch(rf"{session_url}/f/[^/]+", ready.headers["location"])
        shown = (await http.get(ready.headers["location"])).text
        assert data["damage"]["description"] in shown and "はい、この内容で申請します" in shown
