"""The caseworker's case page (#19) says a case was filed at the counter — by whom, at
which counter, how the resident's identity was checked, whether the registry found them —
and that a digital-support helper assisted, from the case details the service gives."""

from __future__ import annotations

from tests.support.filing import APPS, example, filing
from tests.support.pages import signed_in
from workflows.models import CounterFiling


async def test_the_case_page_names_the_counter_filing_and_the_helper(stack, catalog,
                                                                     monkeypatch):
    created = await stack.http.post(APPS, headers=stack.resident(),
                                    json=filing(example(catalog)))
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    cases = stack.http._transport.app.state.portal.cases
    async with signed_in(stack, "cw-131016-1") as http:
        plain = (await http.get(f"/staff/cases/{app_id}")).text
        assert 'id="counter-filing"' not in plain and 'id="assisted-by"' not in plain

        details = cases.details

        async def from_the_counter(principal, application_id):
            found = await details(principal, application_id)
            view = found.view.model_copy(update={
                "counter": CounterFiling(staff_subject="demo-counter",
                                         staff_name="千代田区 窓口担当", counter_id="honcho-1F-3",
                                         method="photo_id", verified=False),
                "assisted_by": "DS-0012"})
            return found.model_copy(update={"view": view})

        monkeypatch.setattr(cases, "details", from_the_counter)
        page = (await http.get(f"/staff/cases/{app_id}")).text
        assert ("千代田区 窓口担当 が窓口（honcho-1F-3）で受け付け。"
                "本人確認：顔写真付きの本人確認書類") in page
        assert "住民基本台帳で未確認" in page
        assert "デジタル活用支援員（DS-0012）が手伝って申請" in page
        english = (await http.get(f"/staff/cases/{app_id}?lang=en")).text
        assert ("Filed at the counter (honcho-1F-3) by 千代田区 窓口担当; "
                "identity checked by photo ID") in english
