"""The assisted mode without a browser (ASGI), issue #19: a resident beside a デジタル活用支援員
turns it on with the helper's number (no JavaScript: a GET form), every form page of a
procedure then shows one step per question and the "assisted" notice, the check page a
plain hint; a bad number is refused with the field's message; turning it off leaves no
trace; the way back never leaves the site."""

from __future__ import annotations

import re

from tests.support.pages import csrf_of, signed_in
from tests.support.wizard_pages import BASE, EXAMPLE, answers, form, post, start


def _steps(html: str) -> list[str]:
    found = re.search(r'<ol class="assist-steps__list">(.*?)</ol>', html, re.S)
    assert found, "no step-by-step hints on the page"
    return re.findall(r'<li><a href="#([^"]+)">', found.group(1))


async def test_the_assisted_mode_guides_every_page_and_shows_the_helper(stack):
    wizard = form(stack)
    async with signed_in(stack) as http:
        plain = await http.get(BASE)
        assert "assist-banner" not in plain.text and 'href="/assisted?next=' in plain.text

        chooser = await http.get("/assisted", params={"next": BASE})
        assert chooser.status_code == 200 and 'action="/prefs/assisted"' in chooser.text
        issued = await stack.http.post(  # the helper's code, from the counter service
            "/api/counter/helper-codes", json={"municipality": "131016"},
            headers=stack.caseworker("demo-support", roles="digital_support"))
        assert issued.status_code == 201, issued.text
        code = issued.json()["code"]
        on = await http.get("/prefs/assisted", params={"mode": "on", "helper": code,
                                                       "next": BASE})
        assert on.status_code == 303 and on.headers["location"] == BASE

        who = await http.get(BASE)  # the first page, whom it is for, has its step too
        assert 'id="assist-steps"' in who.text and "自分のために申請する」を選びます" in who.text
        _, url = await start(http)
        for page_id in wizard.page_ids():
            shown = await http.get(url)
            assert 'class="assisted"' in shown.text and code in shown.text
            assert "デジタル活用支援員がお手伝いしています" in shown.text
            fields = wizard.page(page_id, EXAMPLE).fields
            # one step per question, each linking to its input, in the page's order
            assert _steps(shown.text) == [f.id for f in fields], page_id
            for f in fields:
                assert f'id="{f.id}"' in shown.text, (page_id, f.id)
            answer = await post(http, url, page_id, answers(wizard, page_id, EXAMPLE))
            assert answer.status_code == 303, answer.text
            url = answer.headers["location"]
        check = await http.get(url)
        assert 'id="assist-check"' in check.text
        # Filed: the case records the helper (not as a proxy) and the staff page says so.
        filed = await http.post(url.rsplit("/", 1)[0] + "/_submit",
                                data={"csrf_token": csrf_of(check.text)})
        assert filed.status_code == 303, filed.text
        app_id = filed.headers["location"].split("/")[-1].split("?")[0]
        async with signed_in(stack, "cw-131016-1") as staff:
            case = (await staff.get(f"/staff/cases/{app_id}")).text
        assert "デジタル活用支援員（demo-support）が手伝って申請" in case
        assert "badge--proxy" not in case  # the resident is the applicant, not a proxy's

        english = await http.get("/procedures?lang=en")
        assert "A digital-support helper is assisting you." in english.text

        off = await http.get("/prefs/assisted", params={"mode": "off", "next": "/procedures"})
        assert off.headers["location"] == "/procedures"
        after = await http.get(BASE)
        assert "assist-banner" not in after.text and "assist-steps" not in after.text


async def test_a_bad_helper_number_is_refused_and_the_way_back_stays_on_the_site(stack):
    async with signed_in(stack) as http:
        bad = await http.get("/prefs/assisted", params={"mode": "on", "helper": "<b>x</b>",
                                                        "next": "/procedures"})
        assert bad.status_code == 303 and bad.headers["location"].startswith(
            "/assisted?problem=code")
        shown = await http.get(bad.headers["location"])
        assert 'aria-invalid="true"' in shown.text and "error-summary" in shown.text
        assert "assist-banner" not in (await http.get("/procedures")).text
        # no number at all is fine: the mode without a named helper
        await http.get("/prefs/assisted", params={"mode": "on"})
        assert "assist-banner" in (await http.get("/procedures")).text
        for elsewhere in ("//evil.EXAMPLE/x", "https://evil.EXAMPLE/", "/\\evil.EXAMPLE"):
            away = await http.get("/prefs/assisted", params={"mode": "on", "next": elsewhere})
            assert away.headers["location"] == "/", elsewhere
