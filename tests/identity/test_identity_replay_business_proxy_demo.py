"""One-time tokens (jti replay), business tokens, My Number claims, assurance, proxies,
the demo roster."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pytest

from forms.definition import AssuranceRule
from identity import (
    AssuranceTooLow,
    Business,
    Caseworker,
    ClaimForbidden,
    ClaimInvalid,
    ClaimMissing,
    DevIssuer,
    IdentityError,
    MemoryReplayStore,
    ProxyFiling,
    ProxyFilingInvalid,
    Resident,
    TokenExpired,
    TokenReplayed,
    TokenVerifier,
    TrustedIssuer,
    check_assurance,
    parse_proxy_filing,
)
from identity.demo import DEMO_ROSTER, demo_person, issue_demo_token
from identity.devissuer import DEV_ACR_PASSWORD
from records.db import create_schema, make_engine
from records.jti import RecordsReplayStore
from tests.support.tokens import IssuerKit


def refused(verifier: TokenVerifier, token: Any, expected: type[IdentityError]) -> IdentityError:
    with pytest.raises(IdentityError) as info:
        verifier.verify(token)
    assert type(info.value) is expected, f"{type(info.value).__name__}: {info.value}"
    return info.value


def _one_time(issuers: IssuerKit) -> TrustedIssuer:
    return issuers.resident.model_copy(update={"one_time": True})


# -- one-time tokens -----------------------------------------------------------------------


def test_replayed_jti_on_a_one_time_token_is_refused(issuers):
    verifier = TokenVerifier([_one_time(issuers)], replay_store=MemoryReplayStore())
    token = issuers.sign(issuers.resident_claims(jti="login-0001"))
    assert isinstance(verifier.verify(token), Resident)
    refused(verifier, token, TokenReplayed)
    # Another jti is another token.
    assert verifier.verify(issuers.sign(issuers.resident_claims(jti="login-0002")))


def test_one_time_token_without_jti_is_refused(issuers):
    verifier = TokenVerifier([_one_time(issuers)], replay_store=MemoryReplayStore())
    error = refused(verifier, issuers.sign(issuers.resident_claims()), ClaimMissing)
    assert error.claim == "jti"
    refused(verifier, issuers.sign(issuers.resident_claims(jti="")), ClaimInvalid)


def test_a_refused_token_does_not_use_up_its_jti(issuers):
    store = MemoryReplayStore()
    verifier = TokenVerifier([_one_time(issuers)], replay_store=store)
    now = int(time.time())
    expired = issuers.sign(
        issuers.resident_claims(jti="j-1", iat=now - 900, nbf=None, exp=now - 100)
    )
    refused(verifier, expired, TokenExpired)
    assert len(store) == 0
    assert verifier.verify(issuers.sign(issuers.resident_claims(jti="j-1")))


def test_tokens_of_other_issuers_may_repeat(issuers):
    verifier = TokenVerifier([issuers.resident, issuers.staff])
    token = issuers.sign(issuers.resident_claims(jti="same"))
    assert verifier.verify(token) == verifier.verify(token)


def test_memory_store_forgets_expired_ids_and_fails_closed_when_full():
    store = MemoryReplayStore(max_entries=2)
    assert store.first_use("iss", "a", expires_at=100, now=0)
    assert not store.first_use("iss", "a", expires_at=100, now=50)
    assert store.first_use("iss", "a", expires_at=300, now=100)  # expired: not a replay
    assert store.first_use("other-iss", "a", expires_at=300, now=100)
    assert not store.first_use("iss", "b", expires_at=300, now=150)  # full: refuse
    assert store.first_use("iss", "b", expires_at=600, now=300)  # purged, room again


def test_records_store_is_shared_by_processes_and_race_safe(issuers, tmp_path):
    url = f"sqlite:///{tmp_path / 'madoguchi.db'}"
    engine_a, engine_b = make_engine(url), make_engine(url)  # as two web processes
    create_schema(engine_a)
    web_a = TokenVerifier([_one_time(issuers)], replay_store=RecordsReplayStore(engine_a))
    web_b = TokenVerifier([_one_time(issuers)], replay_store=RecordsReplayStore(engine_b))
    token = issuers.sign(issuers.resident_claims(jti="login-77"))
    assert web_a.verify(token)
    refused(web_b, token, TokenReplayed)

    # Eight threads on two engines race with one fresh token: exactly one wins.
    racer = issuers.sign(issuers.resident_claims(jti="login-race"))
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt(verifier: TokenVerifier) -> None:
        barrier.wait()
        try:
            verifier.verify(racer)
            outcomes.append("ok")
        except TokenReplayed:
            outcomes.append("replayed")

    threads = [
        threading.Thread(target=attempt, args=(web_a if n % 2 else web_b,)) for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] + ["replayed"] * 7


def test_records_store_purges_expired_rows_and_fails_closed(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'madoguchi.db'}")
    create_schema(engine)
    store = RecordsReplayStore(engine, purge_every=0)
    assert store.first_use("iss", "a", expires_at=1_000, now=0)
    assert not store.first_use("iss", "a", expires_at=1_000, now=10)
    assert store.first_use("iss", "b", expires_at=5_000, now=2_000)  # purges "a"
    assert store.count() == 1
    assert store.first_use("iss", "a", expires_at=5_000, now=2_000)
    # A database that cannot answer (here: its directory does not exist) refuses.
    broken = RecordsReplayStore(make_engine(f"sqlite:///{tmp_path / 'missing' / 'db'}"))
    assert not broken.first_use("iss", "c", expires_at=9_000, now=0)


# -- My Number never comes in through login -------------------------------------------------


@pytest.mark.parametrize(
    "claim", ["my_number", "individual_number", "MyNumber", "individual-number", "個人番号"]
)
def test_a_token_carrying_a_my_number_is_refused(issuers, claim):
    token = issuers.sign(issuers.resident_claims(**{claim: "123456789018"}))
    error = refused(issuers.verifier(), token, ClaimForbidden)
    assert error.claim == claim
    assert "123456789018" not in str(error)


# -- business -------------------------------------------------------------------------------


def _business_setup(tmp_path) -> tuple[DevIssuer, TokenVerifier]:
    dev = DevIssuer.load_or_create(tmp_path)
    return dev, TokenVerifier(dev.trusted_issuers())


def test_business_round_trip(tmp_path):
    dev, verifier = _business_setup(tmp_path)
    principal = verifier.verify(
        dev.issue_business(
            "gbiz-1",
            "7000012050002",
            "国税庁",
            corporate_address="東京都千代田区霞が関3-1-1",
            representative_name="代表 太郎",
            user_name="担当 花子",
        )
    )
    assert isinstance(principal, Business)
    assert (
        principal.corporate_number,
        principal.name,
        principal.representative,
        principal.user_name,
        principal.assurance_level,
    ) == ("7000012050002", "国税庁", "代表 太郎", "担当 花子", "substantial")


@pytest.mark.parametrize("number", ["7000012050003", "700001205000", "７000012050002"])
def test_business_with_an_invalid_corporate_number_is_refused(tmp_path, number):
    dev, verifier = _business_setup(tmp_path)
    error = refused(verifier, dev.issue_business("gbiz-1", number, "国税庁"), ClaimInvalid)
    assert error.claim == "corporate_number"


def test_business_without_a_corporate_name_is_refused(issuers):
    business = issuers.resident.model_copy(update={"kind": "business"})
    claims = issuers.resident_claims(corporate_number="7000012050002")
    error = refused(TokenVerifier([business]), issuers.sign(claims), ClaimMissing)
    assert error.claim == "corporate_name"


# -- assurance ------------------------------------------------------------------------------

_CARD_ONLY = AssuranceRule(
    accepted=["level:high"],
    message={
        "ja": "この手続きにはマイナンバーカードでのログインが必要です。",
        "en": "This procedure needs a sign-in with your My Number card.",
    },
)


def test_assurance_rule_accepts_strong_and_refuses_weak_sign_ins(tmp_path):
    dev, verifier = _business_setup(tmp_path)
    card = verifier.verify(dev.issue_resident("r-1", "山田 太郎"))
    password = verifier.verify(dev.issue_resident("r-2", "佐藤 花子", acr=DEV_ACR_PASSWORD))
    assert (card.assurance_level, password.assurance_level) == ("high", "low")
    check_assurance(_CARD_ONLY, card)
    check_assurance(None, password)
    with pytest.raises(AssuranceTooLow) as info:
        check_assurance(_CARD_ONLY, password)
    assert info.value.public_message == _CARD_ONLY.message.model_dump()
    assert info.value.code == "assurance_too_low"
    # An exact acr value is accepted too; a caseworker never satisfies a rule.
    check_assurance(
        AssuranceRule(accepted=[DEV_ACR_PASSWORD], message=_CARD_ONLY.message), password
    )
    caseworker = verifier.verify(dev.issue_caseworker("cw", ["131016"], ["reviewer"]))
    assert isinstance(caseworker, Caseworker)
    with pytest.raises(AssuranceTooLow):
        check_assurance(_CARD_ONLY, caseworker)
    with pytest.raises(ValueError):
        check_assurance(AssuranceRule(accepted=["level:ultra"], message=_CARD_ONLY.message), card)


# -- proxy filing ---------------------------------------------------------------------------


def _proxy(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "高橋 トメ",
        "name_kana": "タカハシ トメ",
        "birthdate": "1936-03-10",
        "relationship": "child",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_proxy_filing_round_trip_and_labels():
    filing = parse_proxy_filing(_proxy(), today=date(2026, 10, 1))
    assert filing.birthdate == date(1936, 3, 10)
    assert filing.describe() == {
        "ja": "代理人による申請（本人との関係: 子）",
        "en": "Filed by a proxy (relationship: Child)",
    }
    other = parse_proxy_filing(_proxy(relationship="other", relationship_detail="民生委員"))
    assert other.relationship_label("ja") == "その他（民生委員）"
    assert other.relationship_label("en") == "Other (民生委員)"
    assert ProxyFiling.model_validate_json(filing.model_dump_json()) == filing


@pytest.mark.parametrize(
    ("changes", "path", "code"),
    [
        ({"name": None}, "/name", "required"),
        ({"name": ""}, "/name", "required"),
        ({"name": " 高橋"}, "/name", "invalid"),
        ({"name_kana": "たかはし とめ"}, "/name_kana", "kana"),
        ({"birthdate": "1936/03/10"}, "/birthdate", "invalid"),
        ({"birthdate": "2027-01-01"}, "/birthdate", "future"),
        ({"birthdate": "1899-12-31"}, "/birthdate", "too_early"),
        ({"relationship": "friend"}, "/relationship", "choice"),
        ({"relationship": "other"}, "/relationship_detail", "required"),
        ({"relationship_detail": "長男"}, "/relationship_detail", "not_allowed"),
        ({"my_number": "123456789018"}, "/my_number", "unknown"),
    ],
)
def test_proxy_filing_problems_are_localized(changes, path, code):
    with pytest.raises(ProxyFilingInvalid) as info:
        parse_proxy_filing(_proxy(**changes), today=date(2026, 10, 1))
    (error,) = info.value.errors
    assert (error.path, error.code) == (path, code)
    assert error.message["ja"] and error.message["en"]
    assert "123456789018" not in str(info.value.errors)


# -- demo roster ----------------------------------------------------------------------------


def test_every_demo_person_gets_a_token_that_verifies(tmp_path):
    dev, verifier = _business_setup(tmp_path)
    kinds = {"resident": Resident, "business": Business, "caseworker": Caseworker}
    for person in DEMO_ROSTER:
        principal = verifier.verify(issue_demo_token(dev, person.id))
        assert isinstance(principal, kinds[person.kind]) and principal.subject == person.id
        assert person.label["ja"] and person.label["en"]
    ids = {p.id for p in DEMO_ROSTER}
    assert {"demo-elderly", "demo-nonnative", "demo-proxy", "demo-business"} <= ids
    for code in ("131016", "141003"):
        roles = {r for p in DEMO_ROSTER if code in p.municipalities for r in p.roles}
        assert roles - {"digital_support"} == {"reviewer", "surveyor", "approver", "counter"}
    assert "digital_support" in demo_person("demo-support").roles
    assert demo_person("demo-proxy").proxy_for.relationship == "child"
    with pytest.raises(KeyError, match="demo-1"):
        demo_person("nobody")
