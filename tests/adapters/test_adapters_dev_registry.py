"""The clients against the real ``madoguchi dev-registry`` process: a demo resident who signs
in is found by the facts their token carries, with their household as it is now; the
spouse finds the same household; accounts where registered; a wrong token, an unknown
person, a registry that is down."""

from __future__ import annotations

import time
from datetime import date

import httpx
import pytest

from adapters.http import CallPolicy
from adapters.models import AdapterUnavailable, PersonQuery
from adapters.publicfunds import HttpPublicFundsAccounts
from adapters.registry import HttpResidentRegistry
from identity.demo import DEMO_ACCOUNTS, DEMO_HOUSEHOLDS, DEMO_ROSTER, issue_demo_token
from identity.devissuer import DevIssuer
from identity.principals import Resident
from identity.verify import TokenVerifier
from tests.support.stack import DevRegistryProcess

FAST = CallPolicy(connect_timeout=0.5, read_timeout=1.0, attempts=3, backoff=0.05,
                  max_backoff=0.2, deadline=4.0)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """One dev-registry process for the tests that only read (starting one takes ~3 s);
    the test that stops it takes its own ``dev_registry``."""
    process = DevRegistryProcess(tmp_path_factory.mktemp("dev-registry"))
    process.start()
    yield process
    process.stop()


def _signed_in(tmp_path, person_id: str) -> Resident:
    """The principal a demo resident's token gives (as the portal sees them)."""
    dev = DevIssuer.load_or_create(tmp_path / "issuer")
    principal = TokenVerifier(dev.trusted_issuers()).verify(issue_demo_token(dev, person_id))
    assert isinstance(principal, Resident)
    return principal


def _query(principal: Resident) -> PersonQuery:
    assert principal.name and principal.birthdate and principal.address
    return PersonQuery(name=principal.name, birthdate=principal.birthdate,
                       address=principal.address, gender=principal.gender,
                       name_kana=principal.name_kana)


async def test_every_demo_resident_is_found_by_the_facts_their_token_carries(
        running, tmp_path):
    adapters = running.adapters(FAST)
    residents = [p for p in DEMO_ROSTER if p.kind == "resident"]
    assert len(residents) >= 6
    for person in residents:
        record = await adapters.registry.find(_query(_signed_in(tmp_path, person.id)))
        assert record is not None, person.id
        assert record.person_id == person.registry_id
        mine = [m for m in record.members if m.person_id == person.registry_id]
        assert len(mine) == 1 and mine[0].name == person.name
        assert record.address == person.address


async def test_the_yamada_household_and_the_spouse_finding_the_same_one(running, tmp_path):
    registry = running.adapters(FAST).registry
    taro = await registry.find(_query(_signed_in(tmp_path, "demo-1")))
    hanako = await registry.find(_query(_signed_in(tmp_path, "demo-spouse")))
    assert taro is not None and hanako is not None
    assert taro.household_id == hanako.household_id
    assert taro.person_id != hanako.person_id
    assert taro.head == "山田 太郎" and taro.postal_code == "102-0074"
    assert [(m.name, m.relationship) for m in taro.members] == [
        ("山田 太郎", "世帯主"), ("山田 花子", "妻"), ("山田 さくら", "子")]
    assert taro.members[2].birthdate == date(2019, 6, 15)


async def test_kiyo_lives_alone_and_the_others_have_their_households(running, tmp_path):
    registry = running.adapters(FAST).registry
    kiyo = await registry.find(_query(_signed_in(tmp_path, "demo-elderly")))
    assert kiyo is not None and [m.name for m in kiyo.members] == ["鈴木 キヨ"]
    an = await registry.find(_query(_signed_in(tmp_path, "demo-nonnative")))
    assert an is not None and len(an.members) == 2
    proxy = await registry.find(_query(_signed_in(tmp_path, "demo-proxy")))
    assert proxy is not None
    mother = [m for m in proxy.members if m.relationship == "母"]
    # The proxy files for the mother he lives with: the roster says so, the registry agrees.
    proxy_for = next(p for p in DEMO_ROSTER if p.id == "demo-proxy").proxy_for
    assert [m.name for m in mother] == [proxy_for.name]
    assert mother[0].birthdate == proxy_for.birthdate


async def test_the_facts_are_compared_as_a_person_would(running):
    registry = running.adapters(FAST).registry
    typed = PersonQuery(name="山田　太郎", birthdate=date(1985, 4, 1),  # 全角 space
                        address="東京都千代田区九段南１－２－１")  # 全角 digits and hyphen
    found = await registry.find(typed)
    assert found is not None and found.head == "山田 太郎"
    spaced = PersonQuery(name="NGUYENVANAN", birthdate=date(1996, 8, 30),
                         address="東京都 千代田区 麹町1-1", gender="male")
    assert await registry.find(spaced) is not None


@pytest.mark.parametrize("change", [
    {"birthdate": date(1985, 4, 2)},
    {"name": "山田 次郎"},
    {"address": "東京都千代田区九段南1-2-2"},
    {"gender": "female"},
])
async def test_a_person_the_registry_does_not_have_is_none(running, change):
    query = {"name": "山田 太郎", "birthdate": date(1985, 4, 1),
             "address": "東京都千代田区九段南1-2-1", "gender": "male", **change}
    assert await running.adapters(FAST).registry.find(PersonQuery(**query)) is None


async def test_the_household_as_it_is_now_by_the_registry_id(running):
    registry = running.adapters(FAST).registry
    for household in DEMO_HOUSEHOLDS:
        for member in household.members:
            record = await registry.person(member.person_id)
            assert record is not None
            assert record.person_id == member.person_id
            assert record.household_id == household.household_id
            assert [m.person_id for m in record.members] == [
                m.person_id for m in household.members]
    assert await registry.person("RR-131016-9999") is None
    assert await registry.person("../../v1/persons/search") is None  # one path segment


async def test_accounts_where_registered_and_none_where_not(running):
    accounts = running.adapters(FAST).accounts
    taro = await accounts.account("RR-131016-0001")
    assert taro is not None and taro.holder_kana == "ヤマダ タロウ"
    assert taro.account_type == "ordinary" and len(taro.account_number) == 7
    kiyo = await accounts.account("RR-131016-0004")
    assert kiyo is not None and kiyo.holder_kana == "スズキ キヨ"
    with_account = {a.person_id for a in DEMO_ACCOUNTS}
    without = [m.person_id for h in DEMO_HOUSEHOLDS for m in h.members
               if m.person_id not in with_account]
    assert "RR-131016-0002" in without  # 山田 花子
    for person_id in without:
        assert await accounts.account(person_id) is None


async def test_a_wrong_token_is_refused_without_retrying(running):
    policy = CallPolicy(connect_timeout=0.5, read_timeout=1.0, attempts=5, backoff=1.0)
    registry = HttpResidentRegistry(running.registry_url, "not-the-token", policy)
    accounts = HttpPublicFundsAccounts(running.public_funds_url, "x" + running.token,
                                       policy)
    started = time.monotonic()
    with pytest.raises(AdapterUnavailable, match="HTTP 401") as refused:
        await registry.person("RR-131016-0001")
    with pytest.raises(AdapterUnavailable, match="HTTP 401"):
        await accounts.account("RR-131016-0001")
    assert time.monotonic() - started < 1.0  # a retry would have waited 1 s first
    assert "RR-131016-0001" not in str(refused.value)
    with pytest.raises(ValueError, match="empty"):
        HttpPublicFundsAccounts(running.public_funds_url, "", policy)


async def test_registry_down_is_unavailable_within_the_bound_then_back(dev_registry, tmp_path):
    adapters = dev_registry.adapters(FAST)
    query = _query(_signed_in(tmp_path, "demo-1"))
    dev_registry.stop()
    started = time.monotonic()
    with pytest.raises(AdapterUnavailable) as down:
        await adapters.registry.find(query)
    took = time.monotonic() - started
    with pytest.raises(AdapterUnavailable):
        await adapters.accounts.account("RR-131016-0001")
    assert "not reachable" in str(down.value) and "3 attempt(s)" in str(down.value)
    assert took < FAST.deadline, took
    # What the resident typed is not in the message: it may reach logs.
    for secret in ("山田", "九段南", "1985", "RR-"):
        assert secret not in str(down.value)
    dev_registry.start()
    assert await adapters.registry.find(query) is not None


async def test_a_birth_registered_shows_in_the_household_as_it_is_now(dev_registry, tmp_path):
    """The dev registry's own call (a birth registered) and the clients reading it after."""
    registry, accounts = dev_registry.adapters(FAST).registry, dev_registry.adapters(FAST).accounts
    before = await registry.person("RR-131016-0001")
    newborn = {"name": "山田 はると", "name_kana": "ヤマダ ハルト", "birthdate": "2026-11-20",
               "gender": "male", "relationship": "子"}
    auth = {"Authorization": f"Bearer {dev_registry.token}"}
    async with httpx.AsyncClient(base_url=dev_registry.base_url, timeout=5) as http:
        born = await http.post(f"/dev/households/{before.household_id}/members", json=newborn,
                               headers=auth)
        assert born.status_code == 201, born.text
        assert (await http.post(f"/dev/households/{before.household_id}/members",
                                json=newborn)).status_code == 401
        assert (await http.post("/dev/households/HH-none/members", json=newborn,
                                headers=auth)).status_code == 404
        assert (await http.post(f"/dev/households/{before.household_id}/members",
                                json={**newborn, "birthdate": "soon"},
                                headers=auth)).status_code == 422
    baby_id = born.json()["person_id"]
    now = await registry.person("RR-131016-0001")
    assert [m.name for m in now.members] == [*(m.name for m in before.members), "山田 はると"]
    spouse = await registry.find(_query(_signed_in(tmp_path, "demo-spouse")))
    assert baby_id in {m.person_id for m in spouse.members}
    baby = await registry.person(baby_id)
    assert baby.household_id == before.household_id and baby.head == "山田 太郎"
    assert await accounts.account(baby_id) is None
    # Development state only: a restarted registry is the demo households again.
    dev_registry.stop()
    dev_registry.start()
    assert len((await registry.person("RR-131016-0001")).members) == len(before.members)
