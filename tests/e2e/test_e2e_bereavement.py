"""おくやみ (bereavement) end to end through the HTTP API, on the dev server with the
catalogue's own life event and Chiyoda's overlay.

A bereaved wife files the bundle once online (and a son at the counter, through
h-counter's counter sessions); the NHI and LTC loss notifications and Chiyoda's own
elderly-services notice are filed at once, each in its department's queue (a department's
caseworker sees only theirs); the 葬祭費 waits until the NHI notification is accepted (a
受理通知 issued, no approval), then is decided (支給決定通知書, ¥50,000) by two caseworkers;
a son filing the 葬祭費 for the same deceased, or the bundle again, is refused as a
duplicate.
"""

from __future__ import annotations

from typing import Any

import pytest

from forms.catalog import Catalog
from identity.demo import demo_person
from tests.support.filing import APPS, act
from tests.support.life_events import (
    TOKYO,
    example,
    file,
    filed,
    member,
    prefilled_answers,
    signed_in,
    status,
)
from tests.support.stack import documents_of, eventually, running_stack

LIFE_EVENT = "bereavement"
OFFERED = ("nhi-loss-of-eligibility", "ltc-loss-of-eligibility", "funeral-expenses",
           "elderly-welfare-services-end")
DEPARTMENT_OF = {"nhi-loss-of-eligibility": "hoken-nenkin", "funeral-expenses": "hoken-nenkin",
                 "ltc-loss-of-eligibility": "kaigo-hoken",
                 "elderly-welfare-services-end": "korei-kaigo"}


@pytest.fixture
async def stack(dev_env, tmp_path, sealed_documents, dev_registry):
    catalog = Catalog.load()
    assert catalog.problems == []
    data = tmp_path / "data"
    data.mkdir()
    async with running_stack(dev_env.client, data, catalog, sealed_documents,
                             adapters=dev_registry.adapters()) as built:
        built.catalog = catalog
        yield built


def department_staff(stack, sub: str, department: str) -> dict[str, str]:
    """A caseworker of one department (the demo's 保険年金課 / 介護保険課 staff)."""
    token = stack.issuer.issue_caseworker(sub, [TOKYO], ["reviewer", "approver"],
                                          departments=[department])
    return {"Authorization": f"Bearer {token}"}


async def queue_ids(stack, who: dict[str, str], **params: str) -> set[str]:
    reply = await stack.http.get("/api/queue", headers=who, params=params)
    assert reply.status_code == 200, reply.text
    return {row["id"] for row in reply.json()}


async def step(stack, who: dict[str, str], case_id: str, action: str) -> dict[str, Any]:
    reply = await act(stack.http, case_id, who, action)
    assert reply.status_code == 200, (action, reply.text)
    return reply.json()


async def test_the_bereavement_bundle_fans_out_to_each_departments_queue(stack):
    http = stack.http
    hanako = signed_in(stack, "demo-1")  # who signs in files; the answers name the widow
    listed = await http.get("/api/life-events", params={"municipality": TOKYO})
    assert LIFE_EVENT in {e["id"] for e in listed.json()}

    answers, asked = await prefilled_answers(stack, hanako, LIFE_EVENT,
                                             "spouse-nhi-ltc-funeral")
    assert asked["provenance"]["/bank_account"] == "account"  # the 公金受取口座 prefill
    offers = await http.post(f"/api/life-events/{LIFE_EVENT}/offers", headers=hanako,
                             json={"municipality": TOKYO, "answers": answers})
    assert offers.status_code == 200, offers.text
    by_id = {o["procedure"]: o for o in offers.json()}
    assert set(by_id) == set(OFFERED)  # Chiyoda's own notice comes from its overlay
    assert all(o["eligible"] for o in by_id.values())
    assert by_id["funeral-expenses"]["dependent"]

    created = await file(stack, hanako, LIFE_EVENT, answers, list(OFFERED), key="okuyami-1")
    assert created.status_code == 201, created.text
    bundle_id = created.json()["bundle_id"]
    stack.started.append(bundle_id)
    view = await status(stack, hanako, bundle_id)
    for procedure in OFFERED[:2] + OFFERED[3:]:
        view = await filed(stack, hanako, bundle_id, procedure)
        assert member(view, procedure)["state"] == "filed", member(view, procedure)
    assert member(view, "funeral-expenses")["state"] == "waiting"
    cases = {p: member(view, p)["application_id"] for p in OFFERED if p != "funeral-expenses"}

    # Each case lands in its department's queue, and only there.
    nenkin = department_staff(stack, "cw-nenkin-1", "hoken-nenkin")
    kaigo = department_staff(stack, "cw-kaigo-1", "kaigo-hoken")
    everyone = stack.caseworker("cw-1")

    async def fanned_out():
        queues = {d: await queue_ids(stack, everyone, department=d)
                  for d in set(DEPARTMENT_OF.values())}
        return queues if all(cases[p] in queues[DEPARTMENT_OF[p]] for p in cases) else None

    queues = await eventually(fanned_out, timeout=30)
    for procedure, case_id in cases.items():
        assert [d for d, ids in queues.items() if case_id in ids] == [DEPARTMENT_OF[procedure]]
    assert await queue_ids(stack, nenkin) >= {cases["nhi-loss-of-eligibility"]}
    assert not await queue_ids(stack, nenkin) & {cases["ltc-loss-of-eligibility"],
                                                   cases["elderly-welfare-services-end"]}
    assert cases["ltc-loss-of-eligibility"] in await queue_ids(stack, kaigo)
    assert not await queue_ids(stack, kaigo, department="hoken-nenkin")
    departments = await http.get("/api/queue/departments", headers=everyone,
                                 params={"municipality": TOKYO})
    assert {d["id"] for d in departments.json()} >= set(DEPARTMENT_OF.values())
    mine = await http.get("/api/queue/departments", headers=kaigo,
                          params={"municipality": TOKYO})
    assert [d["id"] for d in mine.json()] == ["kaigo-hoken"]
    # Another department's case is not theirs to open or to act on.
    other = await http.get(f"{APPS}/{cases['nhi-loss-of-eligibility']}", headers=kaigo)
    assert other.status_code in (403, 404), other.text
    refused = await act(http, cases["nhi-loss-of-eligibility"], kaigo, "accept")
    assert refused.status_code in (403, 404), refused.text

    # A notification: accepted by one caseworker, completed with its 受理通知.
    for procedure, who in (("nhi-loss-of-eligibility", nenkin), ("ltc-loss-of-eligibility", kaigo),
                           ("elderly-welfare-services-end", everyone)):
        await step(stack, who, cases[procedure], "claim")
        accepted = await step(stack, who, cases[procedure], "accept")
        assert accepted["status"] in ("issuing", "completed"), accepted  # no approval
        assert accepted["computed"]["loss"]["date"] == "2026-09-21"  # the day after the death

    async def acceptance_issued():
        body = (await http.get(f"{APPS}/{cases['nhi-loss-of-eligibility']}",
                               headers=hanako)).json()
        return body if documents_of(body, "acceptance") and body["status"] == "completed" \
            else None

    assert await eventually(acceptance_issued, timeout=60)

    # The 葬祭費 is filed once the NHI notification is accepted, into the same queue.
    view = await filed(stack, hanako, bundle_id, "funeral-expenses")
    funeral = member(view, "funeral-expenses")
    assert funeral["state"] == "filed", funeral
    funeral_id = funeral["application_id"]
    case = (await http.get(f"{APPS}/{funeral_id}", headers=hanako)).json()
    assert case["data"]["funeral"] == answers["funeral"]
    assert case["data"]["bank_account"] == asked["answers"]["bank_account"]

    async def in_nenkin_queue():
        return funeral_id in await queue_ids(stack, nenkin)

    assert await eventually(in_nenkin_queue, timeout=30)
    await step(stack, nenkin, funeral_id, "claim")
    assessed = await step(stack, nenkin, funeral_id, "assess")
    assert assessed["computed"]["payment"]["amount"] == 50_000
    own = await act(http, funeral_id, nenkin, "approve")
    assert own.status_code == 403, own.text  # four eyes: not the one who assessed
    approver = department_staff(stack, "cw-nenkin-2", "hoken-nenkin")
    decided = await step(stack, approver, funeral_id, "approve")
    assert decided["status"] in ("issuing", "completed")

    async def decision_issued():
        body = (await http.get(f"{APPS}/{funeral_id}", headers=hanako)).json()
        return body if documents_of(body, "decision") else None

    assert await eventually(decision_issued, timeout=60)

    # The son: the same deceased's 葬祭費 (or the bundle) again is a duplicate.
    son = signed_in(stack, "demo-nonnative")
    his = {**example(stack, LIFE_EVENT, "spouse-nhi-ltc-funeral"),
           "applicant": {**answers["applicant"], "relationship": "child",
                         "name": {**answers["applicant"]["name"], "given": "次郎",
                                  "given_kana": "ジロウ"}}}
    direct = {key: his[key] for key in ("applicant", "funeral", "bank_account")}
    direct["deceased"] = {k: v for k, v in his["deceased"].items()
                          if k not in ("ltc", "welfare_services")}
    direct["deceased"]["name"] = {**direct["deceased"]["name"], "family": "佐藤 "}  # a space
    again = await http.post(APPS, headers=son, json={
        "procedure": "funeral-expenses", "municipality": TOKYO, "data": direct})
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "duplicate_application"
    bundle_again = await file(stack, son, LIFE_EVENT, his, list(OFFERED))
    assert bundle_again.status_code == 409, bundle_again.text
    assert bundle_again.json()["error"] == "bundle_exists"


async def test_the_deceased_known_to_the_registry_prefills_the_dates(stack):
    ichiro = signed_in(stack, "demo-proxy")  # his father's 除票 is in his household
    asked = await stack.http.get(f"/api/life-events/{LIFE_EVENT}/questionnaire",
                                 params={"municipality": TOKYO}, headers=ichiro)
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert body["answers"]["deceased"] == {"birth_date": "1938-11-03",
                                           "date_of_death": "2026-09-20"}
    assert body["provenance"]["/deceased/date_of_death"] == "registry"
    # Nobody died in 山田 太郎's household: nothing is prefilled about a deceased.
    taro = await stack.http.get(f"/api/life-events/{LIFE_EVENT}/questionnaire",
                                params={"municipality": TOKYO}, headers=signed_in(stack, "demo-1"))
    assert "deceased" not in taro.json()["answers"]


async def test_at_the_counter_staff_file_the_bundle_for_the_son_present(stack):
    http = stack.http
    counter = {"Authorization": "Bearer " + stack.issuer.issue_caseworker(
        "cw-counter-1", [TOKYO], ["counter"])}
    ichiro = demo_person("demo-proxy")  # his father died; he comes to the counter
    facts = {"name": ichiro.name, "name_kana": ichiro.name_kana,
             "birthdate": ichiro.birthdate.isoformat(), "address": ichiro.address}
    opened = await http.post("/api/counter/sessions", headers=counter, json={
        "municipality": TOKYO, "counter_id": "honcho-1F-3", "method": "photo_id",
        "resident": facts})
    assert opened.status_code == 201, opened.text
    session = opened.json()
    assert session["verified"] and session["household"]["deceased"][0]["died_on"] == \
        "2026-09-20"
    father = session["household"]["deceased"][0]
    answers = example(stack, LIFE_EVENT, "spouse-nhi-ltc-funeral")
    answers["deceased"] = {
        **answers["deceased"], "birth_date": father["birthdate"],
        "date_of_death": father["died_on"],
        "name": {"family": "田中", "given": "正雄", "family_kana": "タナカ",
                 "given_kana": "マサオ"}}
    answers["applicant"] = {**answers["applicant"], "relationship": "child", "name": {
        "family": "田中", "given": "一郎", "family_kana": "タナカ", "given_kana": "イチロウ"}}
    answers.pop("bank_account")  # no account given: the 葬祭費 is not offered
    selected = [p for p in OFFERED if p != "funeral-expenses"]
    prepared = await http.post(f"/api/counter/sessions/{session['id']}/life-events/{LIFE_EVENT}",
                               headers=counter, json={"answers": answers,
                                                      "selected": selected})
    assert prepared.status_code in (200, 201), prepared.text
    filing = prepared.json()
    confirmed = await http.post(
        f"/api/counter/sessions/{session['id']}/filings/{filing['id']}/confirm",
        headers=counter)
    assert confirmed.status_code in (200, 201), confirmed.text
    bundle_id = confirmed.json()["bundle_id"]
    stack.started.append(bundle_id)

    staff = stack.caseworker("cw-1")
    son = signed_in(stack, "demo-proxy")  # later, online with his card: his bundle
    view = await filed(stack, son, bundle_id, "nhi-loss-of-eligibility")
    funeral = member(view, "funeral-expenses")
    assert funeral["state"] not in ("filed", "waiting") and funeral["application_id"] is None
    nhi = member(view, "nhi-loss-of-eligibility")["application_id"]

    async def in_queue():
        return nhi in await queue_ids(stack, staff, department="hoken-nenkin")

    assert await eventually(in_queue, timeout=30)
    ltc = member(await filed(stack, son, bundle_id, "ltc-loss-of-eligibility"),
                 "ltc-loss-of-eligibility")["application_id"]

    async def ltc_in_queue():
        return ltc in await queue_ids(stack, staff, department="kaigo-hoken")

    assert await eventually(ltc_in_queue, timeout=30)
