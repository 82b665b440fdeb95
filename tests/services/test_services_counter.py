"""CounterService: sessions, in-person assurance, prepare → confirm, helper codes.

On the dev server (cases are started; no worker is needed for what is checked here) with
the development registry process where the registry matters, and a clock the test moves.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from forms.catalog import Catalog
from forms.definition import AssuranceRule
from identity.assurance import check_assurance
from identity.counter import COUNTER_ISSUER, IN_PERSON_ACR
from identity.devissuer import DEV_RESIDENT_ISSUER, DEV_STAFF_ISSUER
from identity.errors import AssuranceTooLow
from identity.principals import Caseworker, Resident
from records.counter import CounterStore
from services.cases import CaseService
from services.counter import (
    CounterService,
    OpenSession,
    PrepareFiling,
    ResidentFacts,
    counter_summary,
)
from services.linking import RegistryLinks, counter_key
from services.refusals import InvalidData, Refused
from tests.support.filing import example

TOKYO = "131016"
KIYO = ResidentFacts(name="鈴木 キヨ", name_kana="スズキ キヨ", birthdate=date(1939, 2, 11),
                     address="東京都千代田区神田駿河台2-1", gender="female")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def staff(subject: str = "demo-counter", roles=("counter",), where=TOKYO) -> Caseworker:
    return Caseworker(issuer=DEV_STAFF_ISSUER, subject=subject, name="窓口 担当",
                      municipalities=frozenset({where}), roles=frozenset(roles))


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.load()


def build(client, catalog, registry=None, clock=None) -> CounterService:
    cases = CaseService(client, catalog=catalog, id_secret=b"c" * 32,
                        task_queue=f"counter-{uuid.uuid4().hex[:8]}")
    cases.links = RegistryLinks(cases.keys, registry)
    return CounterService(cases, None, CounterStore.in_memory(), registry=registry,
                          idle_minutes=30, clock=clock or Clock())


def opening(method="card_face", resident=KIYO) -> OpenSession:
    return OpenSession(municipality=TOKYO, counter_id="c-1", method=method, resident=resident)


def rule(*accepted: str) -> AssuranceRule:
    return AssuranceRule.model_validate({"accepted": list(accepted),
                                         "message": {"ja": "窓口へ", "en": "Visit us"}})


def test_in_person_is_accepted_only_where_a_procedure_names_it():
    at_counter = Resident(issuer=COUNTER_ISSUER, subject="RR-1", name="x",
                          assurance=IN_PERSON_ACR)
    card = Resident(issuer=DEV_RESIDENT_ISSUER, subject="a", name="x", assurance="card",
                    assurance_level="high")
    password = Resident(issuer=DEV_RESIDENT_ISSUER, subject="b", name="x", assurance="pw",
                        assurance_level="low")
    check_assurance(rule("level:high", "in_person"), at_counter)
    check_assurance(rule("level:high", "in_person"), card)
    with pytest.raises(AssuranceTooLow):
        check_assurance(rule("level:high", "in_person"), password)
    for levels in (("level:high",), ("level:low",), (IN_PERSON_ACR,)):
        with pytest.raises(AssuranceTooLow):  # a level (even low) never means "a counter"
            check_assurance(rule(*levels), at_counter)
    with pytest.raises(AssuranceTooLow):  # "in_person" alone does not accept a card
        check_assurance(rule("in_person"), card)


async def test_sessions_are_their_staff_members_and_end_idle_or_closed(dev_env, catalog):
    clock = Clock()
    service = build(dev_env.client, catalog, clock=clock)
    with pytest.raises(Refused) as caught:
        await service.open(staff(roles=("reviewer",)), opening())
    assert caught.value.code == "counter_staff_only"
    with pytest.raises(Refused) as caught:
        await service.open(staff(where="141003"), opening())
    assert caught.value.code == "wrong_municipality"

    session = await service.open(staff(), opening())
    # No registry configured: the typed facts, not verified.
    assert session.verified is False and session.person_id is None
    assert session.expires_at == clock.now + timedelta(minutes=30)
    for other in (staff("counter-2"), staff(where="141003")):
        with pytest.raises(Refused) as caught:
            await service.get(other, session.id)
        assert caught.value.kind == "not_found"
    clock.now += timedelta(minutes=29)
    kept = await service.get(staff(), session.id)  # a use keeps it open
    assert kept.expires_at == clock.now + timedelta(minutes=30)
    clock.now += timedelta(minutes=30)
    with pytest.raises(Refused) as caught:
        await service.get(staff(), session.id)
    assert caught.value.code == "counter_session_expired"

    second = await service.open(staff(), opening())
    await service.close(staff(), second.id)
    with pytest.raises(Refused) as caught:
        await service.prepare(staff(), second.id, PrepareFiling(
            procedure_id="disaster-certificate", data={}))
    assert caught.value.kind == "not_found"


async def test_prepare_validates_nothing_starts_until_confirmed(dev_env, catalog):
    service = build(dev_env.client, catalog)
    session = await service.open(staff(), opening(method="two_documents"))
    with pytest.raises(InvalidData):
        await service.prepare(staff(), session.id, PrepareFiling(
            procedure_id="disaster-certificate", data={"copies": 0}))
    with pytest.raises(Refused) as caught:  # a card-only procedure refuses the counter
        await service.prepare(staff(), session.id, PrepareFiling(
            procedure_id="livelihood-recovery-support", data={}))
    assert caught.value.code == "assurance_too_low"
    prepared = await service.prepare(staff(), session.id, PrepareFiling(
        procedure_id="disaster-certificate", data=example(catalog)))
    assert not prepared.confirmed and prepared.result_id is None
    assert (await service.filing(staff(), session.id, prepared.id)).id == prepared.id
    with pytest.raises(Refused):  # another session's filing id is not found
        other = await service.open(staff(), opening())
        await service.filing(staff(), other.id, prepared.id)

    confirmed = await service.confirm(staff(), session.id, prepared.id)
    view = confirmed.application
    assert view is not None and confirmed.filing.confirmed
    try:
        assert view.counter is not None and view.counter.staff_subject == "demo-counter"
        assert view.counter.method == "two_documents" and view.counter.verified is False
        assert [e.event for e in view.timeline] == ["submitted", "filed_at_counter"]
        # (Confirming again answers the first case: tests/e2e, where a worker answers.)
        text = counter_summary(view.counter, staff_visible=False).text
        assert text["ja"] == ("窓口（c-1）で職員が受け付けました。本人確認：本人確認書類2点"
                              "（住民記録と照合できず、未確認）")
        assert "窓口 担当" in counter_summary(view.counter, staff_visible=True).text["ja"]
    finally:
        await dev_env.client.get_workflow_handle(view.application_id).terminate("test over")


async def test_a_verified_session_files_under_the_key_a_card_sign_in_is_linked_to(
        dev_env, catalog, dev_registry):
    service = build(dev_env.client, catalog, registry=dev_registry.adapters().registry)
    session = await service.open(staff(), opening())
    assert session.verified and session.person_id == "RR-131016-0004"
    assert session.household is not None and session.household.head == "鈴木 キヨ"
    keys = service._cases.keys
    resident = service.resident_of({"id": session.id, "person_id": session.person_id,
                                    "resident": KIYO.model_dump(mode="json")})
    assert keys.of(resident) == counter_key(keys, "RR-131016-0004")
    card = Resident(issuer=DEV_RESIDENT_ISSUER, subject="demo-elderly", name=KIYO.name,
                    name_kana=KIYO.name_kana, address=KIYO.address, birthdate=KIYO.birthdate,
                    gender=KIYO.gender, assurance="card", assurance_level="high")
    assert await service._cases.links.linked(card) == counter_key(keys, "RR-131016-0004")
    password = card.model_copy(update={"assurance_level": "low"})
    assert await service._cases.links.linked(password) is None


async def test_helper_codes_name_a_helper_of_one_municipality_for_a_while(dev_env, catalog):
    clock = Clock()
    service = build(dev_env.client, catalog, clock=clock)
    helper = staff("demo-support", roles=("digital_support",))
    with pytest.raises(Refused):
        await service.helper_code(staff(), TOKYO)
    made = await service.helper_code(helper, TOKYO)
    resident = Resident(issuer=DEV_RESIDENT_ISSUER, subject="r", name="x", assurance="card")
    assert service.helper_of(resident, TOKYO, made.code) == "demo-support"
    assert service.helper_of(resident, TOKYO, made.code.lower().replace("-", "")) == \
        "demo-support"
    for who, where, code in ((resident, "141003", made.code), (resident, TOKYO, "XXXX-XXXX"),
                             (helper, TOKYO, made.code)):
        with pytest.raises(Refused) as caught:
            service.helper_of(who, where, code)
        assert caught.value.code == "helper_code_invalid"
    clock.now += timedelta(minutes=16)
    with pytest.raises(Refused):
        service.helper_of(resident, TOKYO, made.code)
