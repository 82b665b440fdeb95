"""Counter filing (窓口でもデジタル, #19) end to end through the HTTP API: the real stack on
the dev server and the real ``madoguchi dev-registry`` process.

A counter staff member checks a resident's identity in person, opens a session (the
registry finds her), prepares a 罹災証明書 for her, she confirms, and OTHER staff work it
to a sealed certificate; the counter filer is refused by four eyes. The card-or-in-person
rule: a card sign-in and the counter are accepted, a password sign-in is refused with the
message. A session ends when closed and when idle too long. The resident who signed in
later with her card sees the case and its notices. A whole life event is filed at the
counter.
"""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from temporalio.worker import Replayer

from forms.catalog import Catalog
from identity.demo import demo_person
from identity.devissuer import DEV_ACR_CARD, DEV_ACR_PASSWORD
from records.counter import counter_sessions
from tests.support.filing import APPS, act, example, issued
from tests.support.stack import eventually, running_stack
from workflows.procedure import ProcedureWorkflow

TOKYO = "131016"
SESSIONS = "/api/counter/sessions"
REPLAY_DIR = Path(__file__).parents[1] / "replay" / "histories"
CARD_OR_COUNTER = "この手続きはマイナンバーカードでのログイン、または窓口での本人確認が必要です。"


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


def counter_staff(stack, sub: str = "demo-counter", municipality: str = TOKYO):
    token = stack.issuer.issue_caseworker(sub, [municipality], ["counter"], name="窓口 担当")
    return {"Authorization": f"Bearer {token}"}


def card_sign_in(stack, person_id: str, acr: str = DEV_ACR_CARD) -> dict[str, str]:
    p = demo_person(person_id)
    token = stack.issuer.issue_resident(p.id, p.name, name_kana=p.name_kana, address=p.address,
                                        birthdate=p.birthdate, gender=p.gender, acr=acr)
    return {"Authorization": f"Bearer {token}"}


KIYO = {"name": "鈴木 キヨ", "name_kana": "スズキ キヨ", "birthdate": "1939-02-11",
        "address": "東京都千代田区神田駿河台2-1", "gender": "female"}
HARU = {"name": "田中 ハル", "name_kana": "タナカ ハル", "birthdate": "1941-04-29",
        "address": "東京都千代田区神田小川町3-3", "gender": "female"}


def certificate_for(stack, family: str, given: str) -> dict[str, Any]:
    data = copy.deepcopy(example(stack.catalog))
    data["applicant"]["name"].update(family=family, given=given)
    data["applicant"].pop("email", None)
    return data


async def open_session(stack, staff, resident: dict[str, Any], method: str = "card_face",
                       counter_id: str = "honcho-1f-3") -> dict[str, Any]:
    opened = await stack.http.post(SESSIONS, headers=staff, json={
        "municipality": TOKYO, "counter_id": counter_id, "method": method,
        "resident": resident})
    assert opened.status_code == 201, opened.text
    return opened.json()


async def file_at_counter(stack, staff, session: dict[str, Any],
                          data: dict[str, Any]) -> dict[str, Any]:
    prepared = await stack.http.post(f"{SESSIONS}/{session['id']}/filings", headers=staff,
                                     json={"procedure_id": "disaster-certificate",
                                           "data": data})
    assert prepared.status_code == 201, prepared.text
    filing = prepared.json()
    assert filing["confirmed"] is False and filing["title"]["ja"] == "罹災証明書の交付申請"
    shown = await stack.http.get(f"{SESSIONS}/{session['id']}/filings/{filing['id']}",
                                 headers=staff)
    assert shown.status_code == 200 and shown.json()["data"]["data"] == data
    confirmed = await stack.http.post(
        f"{SESSIONS}/{session['id']}/filings/{filing['id']}/confirm", headers=staff)
    assert confirmed.status_code == 200, confirmed.text
    again = await stack.http.post(
        f"{SESSIONS}/{session['id']}/filings/{filing['id']}/confirm", headers=staff)
    assert again.status_code == 200, again.text
    body = confirmed.json()
    assert again.json()["application"]["application_id"] == body["application"]["application_id"]
    stack.started.append(body["application"]["application_id"])
    return body


async def test_a_certificate_filed_at_the_counter_is_worked_by_other_staff(stack):
    http, staff = stack.http, counter_staff(stack)
    looked = await http.post("/api/counter/registry/lookups", headers=staff,
                             json={"municipality": TOKYO, "resident": HARU})
    assert looked.status_code == 200 and looked.json()["state"] == "verified", looked.text
    session = await open_session(stack, staff, HARU, method="photo_id")
    assert session["verified"] and session["person_id"] == "RR-131016-0009"
    assert session["household"]["head"] == "田中 一郎"
    assert session["method_text"]["ja"] == "顔写真付きの本人確認書類"
    filed = await file_at_counter(stack, staff, session, certificate_for(stack, "田中", "ハル"))
    app_id = filed["application"]["application_id"]
    counter = filed["application"]["counter"]
    assert counter == {"staff_subject": "demo-counter", "staff_name": "窓口 担当",
                       "counter_id": "honcho-1f-3", "method": "photo_id", "verified": True}

    # The caseworkers' view: who filed it, where, how the identity was checked.
    reviewer = stack.caseworker("cw-other")
    case = await http.get(f"{APPS}/{app_id}", headers=reviewer)
    assert case.status_code == 200, case.text
    timeline = case.json()["timeline"]
    assert [e["event"] for e in timeline[:2]] == ["submitted", "filed_at_counter"]
    assert timeline[1]["actor"] == "demo-counter"
    assert timeline[1]["comment"] == "honcho-1f-3 photo_id"
    # The staff member at the counter is not the applicant, and no PII is in the id.
    assert "ハル" not in app_id
    shown = case.json()["counter"]
    assert shown["staff"] == "demo-counter" and shown["verified"] is True
    assert shown["text"]["ja"] == ("窓口（honcho-1f-3）で窓口 担当が受け付けました。"
                                   "本人確認：顔写真付きの本人確認書類")
    assert "identity checked by photo ID" in shown["text"]["en"]

    # Four eyes: the counter filer, even with every role, may not approve the case.
    filer = stack.caseworker("demo-counter", roles="reviewer,surveyor,approver,counter")
    for action, body in (("accept", {}), ("survey", {"data": {
            "damage_ratio": 0.55, "surveyed_on": "2026-10-01", "notes": "現地調査"}})):
        reply = await act(http, app_id, reviewer, action, **body)
        assert reply.status_code == 200, (action, reply.text)
    refused = await act(http, app_id, filer, "approve")
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "four_eyes"
    assert "窓口で申請を受け付けた職員" in refused.json()["message"]["ja"]
    approver = stack.caseworker("cw-approver-2", roles="approver")
    approved = await act(http, app_id, approver, "approve")
    assert approved.status_code == 200, approved.text
    done = await eventually(lambda: issued(http, app_id, reviewer), timeout=60)
    certificate = next(d for d in done["documents"] if d["type"] == "certificate")
    pdf = await http.get(certificate["url"], headers=reviewer)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # Its history replays; MADOGUCHI_RECORD_HISTORIES=1 stores it for tests/replay.
    history = await stack.client.get_workflow_handle(app_id).fetch_history()
    await Replayer(workflows=[ProcedureWorkflow],
                   data_converter=stack.client.data_converter).replay_workflow(history)
    if os.environ.get("MADOGUCHI_RECORD_HISTORIES") == "1":
        target = REPLAY_DIR / "disaster-certificate-1.5.0-counter-four-eyes.json"
        target.write_text(history.to_json(), encoding="utf-8")


async def test_card_or_counter_accepted_and_password_refused_with_the_message(stack):
    http = stack.http
    data = certificate_for(stack, "佐藤", "花子")
    password = await http.post(APPS, headers=card_sign_in(stack, "demo-password",
                                                          DEV_ACR_PASSWORD),
                               json={"procedure": "disaster-certificate",
                                     "municipality": TOKYO, "data": data})
    assert password.status_code == 403, password.text
    body = password.json()
    assert body["error"] == "assurance_too_low"
    assert body["message"]["ja"].startswith(CARD_OR_COUNTER)
    assert "counter" in body["message"]["en"]
    assert body["details"]["accepted"] == ["level:high", "in_person"]

    card = await http.post(APPS, headers=card_sign_in(stack, "demo-1"), json={
        "procedure": "disaster-certificate", "municipality": TOKYO,
        "data": certificate_for(stack, "山田", "太郎")})
    assert card.status_code == 201, card.text
    stack.started.append(card.json()["id"])

    # The same password resident at the counter: accepted (the facts typed in and found).
    sato = {"name": "佐藤 花子", "name_kana": "サトウ ハナコ", "birthdate": "1990-01-15",
            "address": "東京都千代田区一番町3-3", "gender": "female"}
    session = await open_session(stack, counter_staff(stack), sato, method="two_documents")
    filed = await file_at_counter(stack, counter_staff(stack), session, data)
    assert filed["application"]["counter"]["method"] == "two_documents"


async def test_a_procedure_that_does_not_name_in_person_is_refused_at_the_counter(stack):
    staff = counter_staff(stack)
    session = await open_session(stack, staff, KIYO)
    # The livelihood support grant still wants a card sign-in only.
    prepared = await stack.http.post(f"{SESSIONS}/{session['id']}/filings", headers=staff,
                                     json={"procedure_id": "livelihood-recovery-support",
                                           "data": {}})
    assert prepared.status_code == 403, prepared.text
    assert prepared.json()["error"] == "assurance_too_low"


async def test_sessions_belong_to_their_staff_end_when_closed_and_when_idle(stack):
    http, staff = stack.http, counter_staff(stack)
    session = await open_session(stack, staff, KIYO)
    path = f"{SESSIONS}/{session['id']}"
    assert (await http.get(path, headers=staff)).status_code == 200
    # Another counter staff member, a caseworker without the counter role, a resident.
    for other in (counter_staff(stack, "counter-2"), stack.caseworker("cw-1"),
                  card_sign_in(stack, "demo-elderly")):
        assert (await http.get(path, headers=other)).status_code in (403, 404)
    elsewhere = counter_staff(stack, "yoko-counter", "141003")
    opened = await http.post(SESSIONS, headers=elsewhere, json={
        "municipality": TOKYO, "counter_id": "c1", "method": "card_face", "resident": KIYO})
    assert opened.status_code == 403
    # No card number is accepted: the facts are four, and unknown fields are refused.
    numbered = await http.post(SESSIONS, headers=staff, json={
        "municipality": TOKYO, "counter_id": "c1", "method": "card_face",
        "resident": {**KIYO, "my_number": "123456789018"}})
    assert numbered.status_code == 422

    # Idle for longer than the limit: ended.
    store = stack.http._transport.app.state.portal.counter
    with store.engine.begin() as conn:
        conn.execute(update(counter_sessions).where(counter_sessions.c.id == session["id"])
                     .values(last_used_at=datetime.now(UTC) - timedelta(minutes=31)))
    expired = await http.get(path, headers=staff)
    assert expired.status_code == 409 and expired.json()["error"] == "counter_session_expired"

    # Closed: ended.
    second = await open_session(stack, staff, KIYO)
    closed = await http.delete(f"{SESSIONS}/{second['id']}", headers=staff)
    assert closed.status_code == 204
    gone = await http.post(f"{SESSIONS}/{second['id']}/filings", headers=staff,
                           json={"procedure_id": "disaster-certificate",
                                 "data": certificate_for(stack, "鈴木", "キヨ")})
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"


async def test_the_resident_signing_in_later_with_her_card_sees_the_case_and_notices(stack):
    http, staff = stack.http, counter_staff(stack)
    session = await open_session(stack, staff, KIYO)
    filed = await file_at_counter(stack, staff, session, certificate_for(stack, "鈴木", "キヨ"))
    app_id = filed["application"]["application_id"]
    await http.delete(f"{SESSIONS}/{session['id']}", headers=staff)

    kiyo = card_sign_in(stack, "demo-elderly")

    async def listed():
        mine = await http.get(APPS, headers=kiyo)
        assert mine.status_code == 200, mine.text
        return app_id in {c["id"] for c in mine.json()} or None

    assert await eventually(listed, timeout=30)
    case = await http.get(f"{APPS}/{app_id}", headers=kiyo)
    assert case.status_code == 200, case.text

    async def noticed():
        inbox = await http.get("/api/inbox", headers=kiyo)
        return [e for e in inbox.json() if e["application_id"] == app_id] or None

    assert await eventually(noticed, timeout=30)
    # Another resident, and the same person signed in with a password only, see nothing.
    for other in (card_sign_in(stack, "demo-1"),
                  card_sign_in(stack, "demo-elderly", DEV_ACR_PASSWORD)):
        assert (await http.get(f"{APPS}/{app_id}", headers=other)).status_code == 404
        inbox = await http.get("/api/inbox", headers=other)
        assert all(e["application_id"] != app_id for e in inbox.json())


async def test_an_unverified_resident_is_filed_for_and_marked_so(stack):
    staff = counter_staff(stack)
    stranger = {"name": "未登録 太郎", "birthdate": "1980-05-05",
                "address": "東京都千代田区丸の内9-9"}
    session = await open_session(stack, staff, stranger, method="photo_id")
    assert session["verified"] is False and session["person_id"] is None
    filed = await file_at_counter(stack, staff, session, certificate_for(stack, "未登録", "太郎"))
    assert filed["application"]["counter"]["verified"] is False


async def test_a_life_event_filed_at_the_counter(stack):
    http, staff = stack.http, counter_staff(stack)
    session = await open_session(stack, staff, KIYO)
    folder = stack.catalog.life_event("disaster").directory / "examples"
    answers = json.loads(sorted(folder.glob("*.json"))[0].read_text(encoding="utf-8"))["answers"]
    prepared = await http.post(f"{SESSIONS}/{session['id']}/life-events/disaster",
                               headers=staff, json={"answers": answers, "selected": []})
    assert prepared.status_code == 201, prepared.text
    filing = prepared.json()
    assert filing["kind"] == "life_event"
    confirmed = await http.post(
        f"{SESSIONS}/{session['id']}/filings/{filing['id']}/confirm", headers=staff)
    assert confirmed.status_code == 200, confirmed.text
    bundle_id = confirmed.json()["bundle_id"]
    stack.started.append(bundle_id)
    kiyo = card_sign_in(stack, "demo-elderly")

    async def certificate():
        mine = await http.get(APPS, headers=kiyo)
        return [c for c in mine.json() if c["procedure"] == "disaster-certificate"] or None

    found = await eventually(certificate, timeout=60)
    # Every case of the bundle says it was filed at the counter, and four eyes refuse the
    # staff member who filed it, as for a single counter filing.
    reviewer = stack.caseworker("cw-other")
    case = (await http.get(f"{APPS}/{found[0]['id']}", headers=reviewer)).json()
    assert case["counter"]["staff"] == "demo-counter", case.get("counter")
    assert [e["event"] for e in case["timeline"][:2]] == ["submitted", "filed_at_counter"]
    filer = stack.caseworker("demo-counter", roles="reviewer,surveyor,approver,counter")
    for action, body in (("accept", {}), ("survey", {"data": {
            "damage_ratio": 0.55, "surveyed_on": "2026-10-01", "notes": "現地調査"}})):
        reply = await act(http, found[0]["id"], reviewer, action, **body)
        assert reply.status_code == 200, (action, reply.text)
    refused = await act(http, found[0]["id"], filer, "approve")
    assert refused.status_code == 403 and refused.json()["error"] == "four_eyes", refused.text


async def test_a_digital_support_helper_is_recorded_and_cannot_act_as_a_proxy(stack):
    http = stack.http
    helper = {"Authorization": "Bearer " + stack.issuer.issue_caseworker(
        "demo-support", [TOKYO], ["digital_support"], name="支援員")}
    made = await http.post("/api/counter/helper-codes", headers=helper,
                           json={"municipality": TOKYO})
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    # Counter staff and residents cannot make codes.
    for other in (counter_staff(stack), card_sign_in(stack, "demo-1")):
        assert (await http.post("/api/counter/helper-codes", headers=other,
                                json={"municipality": TOKYO})).status_code == 403
    taro = card_sign_in(stack, "demo-1")
    wrong = await http.post(APPS, headers=taro, json={
        "procedure": "disaster-certificate", "municipality": TOKYO,
        "data": certificate_for(stack, "山田", "太郎"), "assisted_code": "ABCD-EFGH"})
    assert wrong.status_code == 422 and wrong.json()["error"] == "helper_code_invalid"
    filed = await http.post(APPS, headers=taro, json={
        "procedure": "disaster-certificate", "municipality": TOKYO,
        "data": certificate_for(stack, "山田", "太郎"), "assisted_code": code.lower()})
    assert filed.status_code == 201, filed.text
    app_id = filed.json()["id"]
    stack.started.append(app_id)
    assert filed.json()["assisted_by"] is None  # the resident's own view names no employee
    staff_view = await http.get(f"{APPS}/{app_id}", headers=stack.caseworker("cw-1"))
    assert staff_view.json()["assisted_by"] == "demo-support"
    assert "assisted" in [e["event"] for e in staff_view.json()["timeline"]]
    # The helper is no applicant and no proxy: they cannot see or withdraw the case.
    assert (await http.get(f"{APPS}/{app_id}", headers=helper)).status_code in (403, 404)
    withdraw = await act(http, app_id, helper, "withdraw")
    assert withdraw.status_code in (403, 404)
    # A code of another municipality's filing is refused.
    elsewhere = await http.post(APPS, headers=taro, json={
        "procedure": "disaster-certificate", "municipality": "141003",
        "data": certificate_for(stack, "山田", "太郎"), "assisted_code": code})
    assert elsewhere.status_code in (404, 422), elsewhere.text
