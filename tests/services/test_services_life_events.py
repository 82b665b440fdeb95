"""LifeEventService: what a resident is asked, offered and refused before a bundle starts.

On the dev server with the ``flood`` life event of tests/support/lifeevents.py and no
municipal systems configured (the registry is then "unavailable": the resident types the
household, and it counts as not verified).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog
from identity.demo import demo_person
from identity.devissuer import DEV_RESIDENT_ISSUER, DEV_STAFF_ISSUER
from identity.principals import Business, Caseworker, Resident
from services.cases import CaseService
from services.life_events import LifeEventService, spreadsheet_safe
from services.refusals import InvalidData, Refused
from tests.support.lifeevents import ANSWERS, write_flood

TOKYO = "131016"


def _service(client, root, adapters=None) -> LifeEventService:
    write_flood(root)
    catalog = Catalog.load(DEFAULT_ROOT, root)
    assert catalog.problems == []
    queue = f"life-{uuid.uuid4().hex[:8]}"
    cases = CaseService(client, catalog=catalog, id_secret=b"s" * 32, task_queue=queue)
    built = LifeEventService(client, cases, registry=adapters.registry if adapters else None,
                             accounts=adapters.accounts if adapters else None,
                             task_queue=queue)
    built.started = []  # type: ignore[attr-defined]
    return built


@pytest.fixture
async def service(dev_env, tmp_path):
    built = _service(dev_env.client, tmp_path / "catalog")
    yield built
    for workflow_id in built.started:  # type: ignore[attr-defined]
        await dev_env.client.get_workflow_handle(workflow_id).terminate("test over")


@pytest.fixture
async def registered(dev_env, tmp_path, dev_registry):
    """The service with the development registry and public-funds processes."""
    built = _service(dev_env.client, tmp_path / "catalog", dev_registry.adapters())
    built.registry_process = dev_registry  # type: ignore[attr-defined]
    return built


def demo(person_id: str) -> Resident:
    """A demo person signed in with the card: the facts their token carries."""
    person = demo_person(person_id)
    return Resident(issuer=DEV_RESIDENT_ISSUER, subject=person.id, name=person.name,
                    name_kana=person.name_kana, address=person.address,
                    birthdate=person.birthdate, gender=person.gender,
                    assurance="urn:madoguchi:acr:dev-card", assurance_level="high")


def resident(level: str = "high", **facts) -> Resident:
    return Resident(issuer=DEV_RESIDENT_ISSUER, subject=f"r-{uuid.uuid4().hex[:8]}",
                    name="山田 太郎", assurance="urn:madoguchi:acr:dev-card",
                    assurance_level=level, **facts)


async def test_the_questionnaire_is_prefilled_from_the_card_with_its_source(service):
    taro = resident(address="東京都千代田区永田町一丁目7番1号")
    asked = await service.questionnaire(taro, "flood", TOKYO, "en")
    assert asked.answers == {"contact_name": "山田 太郎"}
    assert asked.provenance == {"/contact_name": "card"}
    assert asked.registry == "unavailable" and asked.account is False
    assert asked.form_schema["properties"]["household_size"]["title"] == "Household size"
    assert asked.form_schema["properties"]["disaster_event"]["enum"] == [
        "2026-typhoon-15", "2026-heavy-rain-07"]
    assert asked.existing_bundle is None  # one per event: known only with the answers
    nameless = resident()
    nameless = nameless.model_copy(update={"name": None})
    assert (await service.questionnaire(nameless, "flood", TOKYO)).answers == {}
    assert "flood" in [s.id for s in service.summaries(TOKYO)]


async def test_only_a_resident_files_a_life_event_for_themselves(service):
    staff = Caseworker(issuer=DEV_STAFF_ISSUER, subject="cw", municipalities=frozenset({TOKYO}),
                       roles=frozenset({"reviewer"}))
    company = Business(issuer="https://gbiz.example", subject="b1",
                       corporate_number="7000012050002", name="株式会社テスト", assurance="x")
    for who in (staff, company):
        with pytest.raises(Refused) as refused:
            await service.questionnaire(who, "flood", TOKYO)
        assert (refused.value.kind, refused.value.code) == ("forbidden", "residents_only")
    with pytest.raises(Refused) as refused:
        await service.submit(resident(), "flood", TOKYO, ANSWERS, [],
                             proxy={"name": "山田 トメ", "relationship": "child"})
    assert (refused.value.kind, refused.value.code) == ("forbidden", "no_proxy_life_events")
    assert "ご本人" in refused.value.message["ja"]
    with pytest.raises(Refused) as refused:
        await service.questionnaire(resident(), "moving", TOKYO)
    assert refused.value.kind == "not_found"


async def test_offers_say_what_applies_and_why_on_the_typed_household(service):
    taro = resident()
    offers = {o.procedure: o for o in await service.offers(taro, "flood", TOKYO, ANSWERS)}
    certificate, support = offers["disaster-certificate"], offers["flood-support"]
    assert certificate.eligible and certificate.required and certificate.selected
    assert certificate.reason["en"] == "Proves the damage."
    # The registry could not be read: the size the resident typed stands in for it.
    assert support.eligible and support.dependent and not support.required
    assert "罹災証明書の交付申請" in support.waits_for["ja"] and support.after == support.waits_for
    tenant = await service.offers(taro, "flood", TOKYO, {**ANSWERS, "owner": False})
    support = next(o for o in tenant if o.procedure == "flood-support")
    assert not support.eligible and not support.selected
    assert support.reason == {"ja": "持ち家の方が対象です。", "en": "For owners only."}
    with pytest.raises(InvalidData) as invalid:
        await service.offers(taro, "flood", TOKYO, {**ANSWERS, "disaster_event": "2030-x"})
    assert [e.path for e in invalid.value.errors] == ["/disaster_event"]


async def test_each_procedure_is_checked_as_its_own_filing_would_be(service):
    tenant = {**ANSWERS, "owner": False}
    with pytest.raises(Refused) as refused:
        await service.submit(resident(), "flood", TOKYO, tenant, ["flood-support"])
    assert (refused.value.code, refused.value.details) == (
        "not_offered", {"procedure": "flood-support"})
    # The certificate needs a card sign-in: named in the refusal.
    with pytest.raises(Refused) as refused:
        await service.submit(resident("low", address="東京都千代田区永田町一丁目7番1号"),
                             "flood", TOKYO, ANSWERS, [])
    assert (refused.value.kind, refused.value.code) == ("forbidden", "assurance_too_low")
    assert refused.value.details["procedure"] == "disaster-certificate"
    # No registry and no verified address: whose household it is cannot be known.
    with pytest.raises(Refused) as refused:
        await service.submit(resident(), "flood", TOKYO, ANSWERS, [])
    assert (refused.value.kind, refused.value.code) == ("forbidden", "household_unknown")


async def test_a_procedure_the_resident_filed_already_is_named(service):
    taro = resident(address="東京都千代田区永田町一丁目7番1号", name_kana="ヤマダ タロウ",
                    birthdate=dt.date(1980, 4, 1))
    certificate = {
        "disaster_event": ANSWERS["disaster_event"], "applicant": ANSWERS["applicant"],
        "property": {"address": ANSWERS["applicant"]["address"], "kind": "house",
                     "ownership": "owner"},
        "damage": ANSWERS["damage"]}
    filed = await service._cases.submit(taro, "disaster-certificate", TOKYO, certificate)
    service.started.append(filed.application_id)
    with pytest.raises(Refused) as refused:
        await service.submit(taro, "flood", TOKYO, ANSWERS, ["flood-support"])
    assert (refused.value.kind, refused.value.code) == ("conflict", "duplicate_application")
    assert refused.value.details == {"procedure": "disaster-certificate"}
    assert "罹災証明書の交付申請" in refused.value.message["ja"]


async def test_the_registry_prefills_the_household_and_the_card_the_name(registered):
    asked = await registered.questionnaire(demo("demo-1"), "flood", TOKYO)
    assert asked.registry == "verified" and asked.account is True
    assert asked.answers == {"contact_name": "山田 太郎", "household_size": 3}
    assert asked.provenance == {"/contact_name": "card", "/household_size": "registry"}
    alone = await registered.questionnaire(demo("demo-elderly"), "flood", TOKYO)
    assert alone.answers["household_size"] == 1 and alone.account is True
    stranger = Resident(issuer=DEV_RESIDENT_ISSUER, subject="nobody", name="存在 しない",
                        address="東京都千代田区千代田1-1", birthdate=dt.date(1970, 1, 1),
                        assurance="urn:madoguchi:acr:dev-card", assurance_level="high")
    unknown = await registered.questionnaire(stranger, "flood", TOKYO)
    assert unknown.registry == "not_found" and unknown.provenance == {"/contact_name": "card"}


async def test_with_the_registry_down_the_resident_types_the_household(registered):
    registered.registry_process.stop()
    asked = await registered.questionnaire(demo("demo-1"), "flood", TOKYO)
    assert asked.registry == "unavailable" and asked.account is False
    assert asked.provenance == {"/contact_name": "card"}
    typed = {**ANSWERS, "household_size": 3}
    offers = {o.procedure: o for o in await registered.offers(demo("demo-1"), "flood",
                                                               TOKYO, typed)}
    assert offers["flood-support"].eligible


def test_a_ledger_cell_typed_as_a_formula_stays_text_in_the_spreadsheet():
    assert spreadsheet_safe('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert [spreadsheet_safe(v) for v in ("+1", "-1", "@SUM(A1)", "\tx")] == [
        "'+1", "'-1", "'@SUM(A1)", "'\tx"]
    assert spreadsheet_safe("山田 太郎") == "山田 太郎" and spreadsheet_safe(3) == 3
