"""The counter's open-session page (#19) without a browser (ASGI): only counter staff see
it (a resident and a caseworker without the role are refused); it offers the three
identity-check methods and never asks for the My Number; a form with problems comes back
(422) with every answer kept and each problem at its input, in the form's order; the page
carries the strict CSP (the security walk's principals have no counter role)."""

from __future__ import annotations

import re

from portal.headers import CSP
from tests.support.pages import csrf_of, signed_in


async def test_only_counter_staff_open_a_session_and_problems_come_back_at_their_inputs(stack):
    async with signed_in(stack, "demo-counter") as http:
        shown = await http.get("/counter")
        assert shown.status_code == 200, shown.text
        assert shown.headers["content-security-policy"] == CSP
        html = shown.text
        assert "<h1 class=\"page-title\">窓口の受付を始める</h1>" in html
        assert re.findall(r'name="method" value="([a-z_]+)"', html) == [
            "card_face", "photo_id", "two_documents"]
        assert "マイナンバーカード（顔写真の照合）" in html
        assert "マイナンバー（個人番号）は記録しません" in html
        assert 'name="my_number"' not in html and "個人番号を入力" not in html

        posted = await http.post("/counter/sessions", data={
            "csrf_token": csrf_of(html), "counter_id": "本庁 1階", "name": "佐藤 花子",
            "birthdate": "1950年13月1日", "address": ""})
        assert posted.status_code == 422, posted.text
        again = posted.text
        summary = re.search(r'<ul class="error-summary__list">(.*?)</ul>', again, re.S).group(1)
        assert re.findall(r'href="#(f-[a-z_]+)"', summary) == [
            "f-counter_id", "f-method", "f-birthdate", "f-address"]
        assert 'value="佐藤 花子"' in again and 'value="1950年13月1日"' in again
        assert 'id="f-birthdate" name="birthdate"' in again and 'aria-invalid="true"' in again
        english = await http.post("/counter/sessions?lang=en", data={
            "csrf_token": csrf_of(again), "method": "photo_id", "counter_id": "honcho-1F-3",
            "name": "佐藤 花子", "birthdate": "1950-04-01", "address": ""})
        assert english.status_code == 422 and "Enter the address" in english.text

    for persona in ("demo-1", "cw-131016-1"):
        async with signed_in(stack, persona) as http:
            refused = await http.get("/counter")
            assert refused.status_code == 403, persona
            assert "窓口担当の職員" in refused.text
