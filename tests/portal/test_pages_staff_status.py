"""Caseworker and status pages as people read them (#17), over the ASGI app."""

from __future__ import annotations

import re

from tests.support.filing import APPS, act, example, filing, issued
from tests.support.pages import csrf_of, signed_in
from tests.support.stack import eventually
from workflows.references import spoken_reference


async def _filed_and_surveyed(stack, catalog) -> str:
    created = await stack.http.post(APPS, json=filing(example(catalog)),
                                    headers=stack.resident())
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    stack.started.append(app_id)
    staff = stack.caseworker("cw-1")
    assert (await act(stack.http, app_id, staff, "accept")).status_code == 200
    return app_id


async def test_the_survey_confirmation_shows_the_grade_before_confirming(stack, catalog):
    app_id = await _filed_and_surveyed(stack, catalog)
    async with signed_in(stack, "cw-131016-1") as http:
        case = await http.get(f"/staff/cases/{app_id}")
        form = {"action": "survey", "/damage_ratio": "45", "/surveyed_on": "2026-10-01",
                "csrf_token": csrf_of(case.text)}
        page = await http.post(f"/staff/cases/{app_id}/confirm", data=form)
        assert page.status_code == 200, page.text
        # Before: the confirmation listed the input only; the grade appeared after acting.
        assert "大規模半壊（損害割合 45%）" in page.text
        assert "登録すると、次のとおり記録されます" in page.text
        view = (await stack.http.get(f"{APPS}/{app_id}", headers=stack.caseworker("x"))).json()
        assert view["computed"] == {}  # the preview recorded nothing


async def test_the_case_page_reads_as_a_person_reads_it(stack, catalog):
    app_id = await _filed_and_surveyed(stack, catalog)
    surveyed = await act(stack.http, app_id, stack.caseworker("cw-1"), "survey",
                         data={"damage_ratio": 45, "surveyed_on": "2026-10-01"})
    assert surveyed.status_code == 200
    async with signed_in(stack, "cw-131016-2") as http:
        page = (await http.get(f"/staff/cases/{app_id}")).text
        # Before: 算定結果 showed damage_grade {'code': 'large_scale_half', ...}.
        assert "{&#39;code&#39;" not in page and "{'code'" not in page
        assert "被害の程度" in page and "大規模半壊（損害割合 45%）" in page
        assert "令和8年10月1日" in page  # the survey date in the pages' one format
        assert "2026-10-01" not in page
        assert spoken_reference(app_id) in page and app_id in page
        assert "防災課" in page and "03-5211-4187" in page  # the procedure's department
        english = (await http.get(f"/staff/cases/{app_id}?lang=en")).text
        assert "Your answers" not in english and "Application data" in english
        assert "Large-scale half destruction (Damage ratio 45%)" in english
        assert re.search(r"\b1 Oct 2026\b", english)
        queue = (await http.get("/staff", params={"q": spoken_reference(app_id).lower()})).text
        assert f"/staff/cases/{app_id}" in queue


async def test_an_issued_certificate_reads_as_issued_to_its_resident(stack, catalog):
    app_id = await _filed_and_surveyed(stack, catalog)
    assert (await act(stack.http, app_id, stack.caseworker("cw-1"), "survey",
                      data={"damage_ratio": 45, "surveyed_on": "2026-10-01"})).status_code == 200
    approved = await act(stack.http, app_id, stack.caseworker("cw-2", roles="approver"),
                         "approve")
    assert approved.status_code == 200
    await eventually(lambda: issued(stack.http, app_id, stack.resident()))
    async with signed_in(stack, "demo-1") as http:

        async def listed():
            page = (await http.get("/my")).text
            return page if app_id in page else None
        mine = await eventually(listed)
        # Before: 「申請者の手続き待ち」 for a certificate already issued.
        assert "申請者の手続き待ち" not in mine and "交付済み" in mine
        page = (await http.get(f"/my/applications/{app_id}")).text
        # Before: the history listed the caseworkers' commands.
        for command in ("受理する", "調査結果を登録する", "決裁する"):
            assert command not in page
        assert "手続きが「被害認定調査」に進みました" in page
        assert spoken_reference(app_id) in page and "防災課" in page
        assert "令和8年9月20日" in page and "2026-09-20" not in page  # 被災日, one format
        inbox = (await http.get("/my/inbox")).text
        assert f'href="/my/applications/{app_id}#documents"' in inbox


async def test_the_staff_hears_of_a_correction_and_sees_what_changed(stack, catalog):
    created = await stack.http.post(APPS, json=filing(example(catalog)),
                                    headers=stack.resident())
    app_id = created.json()["id"]
    stack.started.append(app_id)
    staff = stack.caseworker("cw-1")
    assert (await act(stack.http, app_id, staff, "request_correction",
                      comment="電話番号を直してください。")).status_code == 200
    amended = example(catalog)
    amended["applicant"]["phone"] = "0398765432"
    assert (await act(stack.http, app_id, stack.resident(), "submit_correction",
                      data=amended)).status_code == 200
    async with signed_in(stack, "cw-131016-1") as http:

        async def noticed():
            page = (await http.get("/staff/inbox")).text
            return page if f"/staff/cases/{app_id}#changes" in page else None
        # Before: no notice reached the municipality when a correction came back.
        await eventually(noticed)
        page = (await http.get(f"/staff/cases/{app_id}")).text
        changes = page[page.index('id="changes"'):]
        assert "0312345678" in changes and "0398765432" in changes
        assert "電話番号" in changes[:changes.index("0398765432")]


async def test_the_correction_pages_repeat_what_the_caseworker_asked(stack, catalog):
    created = await stack.http.post(APPS, json=filing(example(catalog)),
                                    headers=stack.resident())
    app_id = created.json()["id"]
    stack.started.append(app_id)
    assert (await act(stack.http, app_id, stack.caseworker("cw-1"), "request_correction",
                      comment="電話番号を直してください。")).status_code == 200
    async with signed_in(stack, "demo-1") as http:
        page = (await http.get(f"/my/applications/{app_id}/correction")).text
    asked = page[page.index('id="asked"'):]
    assert "担当者からの依頼" in asked and "電話番号を直してください。" in asked
