"""Life events end to end through the HTTP API: the real stack on the dev server, the real
``madoguchi dev-registry`` process, the catalogue's own life events (被災した, 子どもが生まれた)
and their examples' answers over what the questionnaire prefilled.

A resident files the disaster bundle once; caseworkers issue the 罹災証明書 全壊; the
livelihood support grant (and the condolence money, and Chiyoda's own 国民健康保険料の減免)
are filed automatically with the grade; its amount is 基礎 + 加算 by plan; one status shows
them all; the spouse is pointed to the household's bundle; a one-person household gets ¾;
一部損壊 files nothing more and says why; the birth bundle files its procedures; with the
registry down the resident types the household and the cases say it was not verified.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from forms.catalog import Catalog
from services.admission import Admission
from tests.support.filing import APPS, act
from tests.support.life_events import (
    TOKYO,
    file,
    filed,
    member,
    prefilled_answers,
    signed_in,
    status,
)
from tests.support.stack import eventually, running_stack
from workflows.procedure import ProcedureWorkflow

EVENT = "2026-typhoon-15"
SURVEY = {"surveyed_on": "2026-10-01", "notes": "現地調査"}


@pytest.fixture
async def stack(dev_env, tmp_path, sealed_documents, dev_registry):
    catalog = Catalog.load()
    assert catalog.problems == []
    data = tmp_path / "data"
    data.mkdir()
    async with running_stack(dev_env.client, data, catalog, sealed_documents,
                             adapters=dev_registry.adapters()) as built:
        built.catalog = catalog
        built.registry_process = dev_registry
        yield built


async def step(stack, case_id: str, who: str, action: str, **body: Any) -> dict[str, Any]:
    roles = "approver" if who == "cw-approver" else "reviewer,surveyor,approver"
    reply = await act(stack.http, case_id, stack.caseworker(who, roles=roles), action, **body)
    assert reply.status_code == 200, (action, reply.text)
    return reply.json()


async def issue_certificate(stack, case_id: str, damage_ratio: float) -> None:
    """Intake, survey and the four-eyes approval of the 罹災証明書."""
    await step(stack, case_id, "cw-1", "accept")
    await step(stack, case_id, "cw-1", "survey", data={"damage_ratio": damage_ratio, **SURVEY})
    await step(stack, case_id, "cw-approver", "approve")


async def decide_support(stack, case_id: str) -> dict[str, Any]:
    await step(stack, case_id, "cw-1", "claim")
    assessed = await step(stack, case_id, "cw-1", "assess")
    await step(stack, case_id, "cw-approver", "approve")
    return assessed["computed"]["support"]


async def test_the_disaster_bundle_filed_once_and_followed_to_the_support_grant(stack):
    http, taro = stack.http, signed_in(stack, "demo-1")
    listed = await http.get("/api/life-events", params={"municipality": TOKYO})
    assert {"disaster", "birth"} <= {e["id"] for e in listed.json()}

    answers, asked = await prefilled_answers(stack, taro, "disaster", "total-family-builds")
    assert asked["registry"] == "verified" and asked["account"] is True
    assert asked["answers"]["household_size"] == 3
    assert asked["provenance"]["/household_size"] == "registry"
    assert asked["provenance"]["/bank_account"] == "account"
    assert asked["provenance"]["/applicant/birth_date"] == "card"

    offers = await http.post("/api/life-events/disaster/offers", headers=taro,
                             json={"municipality": TOKYO, "answers": answers})
    assert offers.status_code == 200, offers.text
    by_id = {o["procedure"]: o for o in offers.json()}
    assert by_id["disaster-certificate"]["required"]
    assert by_id["nhi-premium-reduction"]["eligible"]  # Chiyoda's own relief, by overlay
    dependents = ("livelihood-recovery-support", "disaster-condolence-money",
                  "nhi-premium-reduction")
    assert all(by_id[p]["dependent"] and by_id[p]["waits_for"] for p in dependents)

    created = await file(stack, taro, "disaster", answers, list(by_id), key="taro-1")
    assert created.status_code == 201, created.text
    bundle_id = created.json()["bundle_id"]
    stack.started.append(bundle_id)
    again = await file(stack, taro, "disaster", answers, list(by_id), key="taro-1")
    assert again.status_code == 201 and again.json()["bundle_id"] == bundle_id

    view = await status(stack, taro, bundle_id)
    certificate = member(view, "disaster-certificate")
    assert certificate["state"] == "filed" and view["mine"]
    assert {member(view, p)["state"] for p in dependents} == {"waiting"}
    assert view["provenance"]["/household_size"] == "registry"

    await issue_certificate(stack, certificate["application_id"], 55)  # 全壊
    view = await filed(stack, taro, bundle_id, "livelihood-recovery-support")
    support = member(view, "livelihood-recovery-support")
    assert support["state"] == "filed", support
    case = (await http.get(f"{APPS}/{support['application_id']}", headers=taro)).json()
    assert case["data"]["damage_grade"] == "total" and case["data"]["household_size"] == 3
    amounts = await decide_support(stack, support["application_id"])
    assert (amounts["basic"], amounts["additional"], amounts["total"]) == (
        1_000_000, 2_000_000, 3_000_000)  # 全壊, build or buy

    for procedure in ("disaster-condolence-money", "nhi-premium-reduction"):
        assert member(await filed(stack, taro, bundle_id, procedure), procedure)[
            "state"] == "filed"

    # One status: the certificate issued 全壊 with its document, the grant with its amount.
    view = await status(stack, taro, bundle_id)
    certificate = member(view, "disaster-certificate")
    assert any(d["type"] == "certificate" for d in certificate["documents"])
    assert certificate["computed"]["damage_grade"]["code"] == "total"
    assert member(view, "livelihood-recovery-support")["computed"]["support"]["total"] == \
        3_000_000

    # The spouse opens the same life event: pointed to the household's bundle.
    hanako = signed_in(stack, "demo-spouse")
    hers, _ = await prefilled_answers(stack, hanako, "disaster", "total-family-builds")
    second = await file(stack, hanako, "disaster", hers, [])
    assert second.status_code == 409, second.text
    assert second.json()["error"] == "bundle_exists"
    assert second.json()["details"]["existing_bundle"] == bundle_id
    seen = await status(stack, hanako, bundle_id)
    assert not seen["mine"] and seen["answers"] == {}
    assert member(seen, "livelihood-recovery-support")["computed"] == {}
    refused = await http.post(f"/api/bundles/{bundle_id}/withdraw", headers=hanako,
                              json={"procedure": None})
    assert refused.status_code == 403
    stranger = await http.get(f"/api/bundles/{bundle_id}",
                              headers=signed_in(stack, "demo-nonnative"))
    assert stranger.status_code == 404

    # Caseworkers: the bundle beside the case, and the 被災者台帳 with its CSV.
    staff = stack.caseworker("cw-1")
    beside = await http.get(f"/api/cases/{support['application_id']}/bundle", headers=staff)
    assert beside.status_code == 200 and beside.json()["bundle_id"] == bundle_id

    async def ledger_row():
        reply = await http.get("/api/ledger", headers=staff,
                               params={"municipality": TOKYO, "event": EVENT})
        rows = [r for r in reply.json()["rows"] if r["bundle_id"] == bundle_id]
        # The grant's amount arrives with its case's report of the decision.
        return rows[0] if rows and rows[0]["amount_total"] else None

    row = await eventually(ledger_row)
    assert row["grade_code"] == "total" and row["household_size"] == 3
    assert row["household_name"] == "山田 太郎" and "千代田区" in row["address"]
    grant = next(c for c in row["cases"] if c["procedure"] == "livelihood-recovery-support")
    assert grant["amount"] == 3_000_000 and row["amount_total"] >= 3_000_000
    partial = await http.get("/api/ledger", headers=staff, params={
        "municipality": TOKYO, "event": EVENT, "grade": "partial"})
    assert bundle_id not in [r["bundle_id"] for r in partial.json()["rows"]]
    exported = await http.get("/api/ledger.csv", headers=staff,
                              params={"municipality": TOKYO, "event": EVENT, "grade": "total"})
    assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert table[0][0] == "世帯主（申請者）"
    assert any(r[0] == "山田 太郎" and "全壊" in r[3] for r in table[1:])
    elsewhere = stack.caseworker("cw-y", municipality="141003")
    assert (await http.get("/api/ledger", headers=elsewhere, params={
        "municipality": TOKYO, "event": EVENT})).status_code == 403


async def test_a_one_person_household_gets_three_quarters(stack):
    kiyo = signed_in(stack, "demo-elderly")
    answers, asked = await prefilled_answers(stack, kiyo, "disaster",
                                             "single-person-large-scale-half")
    assert asked["answers"]["household_size"] == 1
    created = await file(stack, kiyo, "disaster", answers, [
        "livelihood-recovery-support", "disaster-condolence-money"])
    assert created.status_code == 201, created.text
    bundle_id = created.json()["bundle_id"]
    stack.started.append(bundle_id)
    certificate = member(await status(stack, kiyo, bundle_id), "disaster-certificate")
    await issue_certificate(stack, certificate["application_id"], 45)  # 大規模半壊
    support = member(await filed(stack, kiyo, bundle_id, "livelihood-recovery-support"),
                     "livelihood-recovery-support")
    assert support["state"] == "filed", support
    amounts = await decide_support(stack, support["application_id"])
    # 大規模半壊 ¥500,000 + 賃借 ¥500,000, each ×3/4 for one person.
    assert (amounts["basic"], amounts["additional"], amounts["total"]) == (
        375_000, 375_000, 750_000)


async def test_a_grade_that_does_not_qualify_files_nothing_more_and_says_why(stack):
    taro = signed_in(stack, "demo-1")
    answers, _ = await prefilled_answers(stack, taro, "disaster", "half-no-support-grant")
    created = await file(stack, taro, "disaster", answers, [
        "livelihood-recovery-support", "disaster-condolence-money"])
    assert created.status_code == 201, created.text
    bundle_id = created.json()["bundle_id"]
    stack.started.append(bundle_id)
    certificate = member(await status(stack, taro, bundle_id), "disaster-certificate")
    await issue_certificate(stack, certificate["application_id"], 5)  # 一部損壊
    view = await filed(stack, taro, bundle_id, "livelihood-recovery-support")
    support = member(view, "livelihood-recovery-support")
    assert support["state"] == "not_filed" and support["application_id"] is None
    assert "対象にならない" in support["reason"]["ja"]
    condolence = member(await filed(stack, taro, bundle_id, "disaster-condolence-money"),
                        "disaster-condolence-money")
    assert condolence["state"] == "not_filed" and "一部損壊" in condolence["reason"]["ja"]
    cases = (await stack.http.get(APPS, headers=taro)).json()
    assert [c["procedure"] for c in cases] == ["disaster-certificate"]


async def test_the_birth_bundle_files_its_procedures(stack):
    hanako = signed_in(stack, "demo-spouse")
    answers, asked = await prefilled_answers(stack, hanako, "birth", "mother-first-child")
    assert asked["registry"] == "verified"
    created = await file(stack, hanako, "birth", answers, [
        "child-allowance", "child-medical-subsidy", "pregnancy-support-benefit"])
    assert created.status_code == 201, created.text
    bundle_id = created.json()["bundle_id"]
    stack.started.append(bundle_id)
    view = await status(stack, hanako, bundle_id)
    assert {m["procedure"]: m["state"] for m in view["members"]} == {
        "child-allowance": "filed", "child-medical-subsidy": "filed",
        "pregnancy-support-benefit": "filed"}
    mine = (await stack.http.get("/api/bundles", headers=hanako)).json()
    assert bundle_id in [b["bundle_id"] for b in mine]
    cases = {c["procedure"] for c in (await stack.http.get(APPS, headers=hanako)).json()}
    assert cases == {"child-allowance", "child-medical-subsidy", "pregnancy-support-benefit"}
    withdrawn = await stack.http.post(f"/api/bundles/{bundle_id}/withdraw", headers=hanako,
                                      json={"procedure": "child-medical-subsidy"})
    assert withdrawn.status_code == 200, withdrawn.text

    async def withdrawn_cases():
        return {c["procedure"] for c in (await stack.http.get(APPS, headers=hanako)).json()
                if c["status"] == "withdrawn"}

    assert await eventually(withdrawn_cases) == {"child-medical-subsidy"}
    everything = await stack.http.post(f"/api/bundles/{bundle_id}/withdraw", headers=hanako,
                                       json={"procedure": None})
    assert everything.status_code == 200, everything.text

    async def all_withdrawn():
        found = await withdrawn_cases()
        return found if len(found) == 3 else None

    await eventually(all_withdrawn)


async def test_with_the_registry_down_the_typed_household_is_not_verified(stack):
    stack.registry_process.stop()
    taro = signed_in(stack, "demo-1")
    answers, asked = await prefilled_answers(stack, taro, "disaster", "registry-down-typed")
    assert asked["registry"] == "unavailable"
    assert "/household_size" not in asked["provenance"]
    created = await file(stack, taro, "disaster", answers, ["livelihood-recovery-support"])
    assert created.status_code == 201, created.text
    bundle_id = created.json()["bundle_id"]
    stack.started.append(bundle_id)
    view = await status(stack, taro, bundle_id)
    assert view["provenance"]["/household_size"] == "unverified"
    assert view["provenance"]["/bank_account"] == "unverified"  # no account could be read
    certificate = member(view, "disaster-certificate")
    await issue_certificate(stack, certificate["application_id"], 55)
    support = member(await filed(stack, taro, bundle_id, "livelihood-recovery-support"),
                     "livelihood-recovery-support")
    assert support["state"] == "filed", support
    case = await stack.client.get_workflow_handle(support["application_id"]).query(
        ProcedureWorkflow.view)
    assert case.bundle_id == bundle_id
    assert case.data["household_size"] == answers["household_size"]  # as typed
    assert case.provenance["/household_size"] == "unverified"
    assert case.provenance["/bank_account"] == "unverified"


async def test_a_bundle_beyond_the_admitted_filings_is_told_to_come_back_and_nothing_starts(
    stack,
):
    """A disaster's surge is made of bundles: they take the same slots as single filings."""
    stack.cases.admission = Admission(1, wait=0.0, retry_after=3)
    kiyo = signed_in(stack, "demo-elderly")
    answers, _ = await prefilled_answers(stack, kiyo, "disaster",
                                         "single-person-large-scale-half")
    chosen = ["livelihood-recovery-support", "disaster-condolence-money"]
    async with stack.cases.admission.slot():  # a filing in flight holds the only slot
        refused = await file(stack, kiyo, "disaster", answers, chosen, key="surge-1")
    told = datetime.now(UTC)
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "3"
    assert refused.json()["error"] == "busy"
    assert "まだ受け付けていません" in refused.json()["message"]["ja"]
    assert stack.cases.admission.refused == 1
    # The retry files it, and its bundle started only then: the refusal started nothing
    # (had it, the retry with the same key would have been answered that bundle).
    created = await file(stack, kiyo, "disaster", answers, chosen, key="surge-1")
    assert created.status_code == 201, created.text
    bundle_id = created.json()["bundle_id"]
    stack.started.append(bundle_id)
    started = (await stack.client.get_workflow_handle(bundle_id).describe()).start_time
    assert started > told, (started, told)
    assert member(await status(stack, kiyo, bundle_id), "disaster-certificate")["state"] == (
        "filed")
