"""Demo people for development mode: who the CLI and the development login page offer.

Every person here is fictional (the corporate numbers have valid check digits but are
made up). The roster covers what a demo or a manual test needs: residents — an elderly
resident, a non-native resident, one signed in with a password only (too weak for a
card-only procedure) — a proxy filing for a parent, caseworkers for each role of
千代田区 (131016) and 横浜市 (141003), and a business. It is the one roster: the
development sign-in page offers the people marked ``sign_in_page``.

The residents are also in the development resident registry, :data:`DEMO_HOUSEHOLDS`,
with the four basic facts their tokens carry and their households (山田 太郎 with his
wife 山田 花子 and their child; 鈴木 キヨ alone; ...), and some of them in the
development public-funds registry, :data:`DEMO_ACCOUNTS`; ``madoguchi dev-registry``
serves both (madoguchi/devregistry.py).

:func:`issue_demo_token` signs a token for one of them with the :class:`DevIssuer`; it
exists only for development mode, like the issuer itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from identity.devissuer import DEV_ACR_BUSINESS, DEV_ACR_CARD, DEV_ACR_PASSWORD, DevIssuer
from identity.proxy import ProxyFiling

__all__ = [
    "DEMO_ACCOUNTS", "DEMO_HOUSEHOLDS", "DEMO_ROSTER", "DemoAccount", "DemoHousehold",
    "DemoPerson", "DemoRegistrant", "demo_person", "issue_demo_token", "sign_in_personas",
]


@dataclass(frozen=True)
class DemoPerson:
    """One demo identity. ``id`` is also the token's ``sub``.

    ``proxy_for`` is set for a proxy: whom they file for, as their label says (what a
    tester types in the filing's proxy section). ``registry_id`` is the resident's id in
    the development resident registry (:data:`DEMO_HOUSEHOLDS`); ``sign_in_page`` says
    whether the development sign-in page offers them (the CLI offers everyone); ``lang``
    is the language the page switches to when they sign in there.
    """

    id: str
    kind: Literal["resident", "business", "caseworker"]
    label: dict[str, str]
    name: str
    name_kana: str | None = None
    address: str | None = None
    birthdate: date | None = None
    gender: str | None = None
    acr: str | None = None
    municipalities: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    corporate_number: str | None = None
    representative: str | None = None
    proxy_for: ProxyFiling | None = field(default=None)
    registry_id: str | None = None
    sign_in_page: bool = True
    lang: str = "ja"


_CITIES = {"131016": ("千代田区", "Chiyoda"), "141003": ("横浜市", "Yokohama")}
_ROLES = {
    "reviewer": ("受付担当", "reviewer"),
    "surveyor": ("調査担当", "surveyor"),
    "approver": ("決裁者", "approver"),
}
_STAFF_NAMES = {
    ("131016", "reviewer"): "千代田 受付",
    ("131016", "surveyor"): "千代田 調査",
    ("131016", "approver"): "千代田 決裁",
    ("141003", "reviewer"): "横浜 受付",
    ("141003", "surveyor"): "横浜 調査",
    ("141003", "approver"): "横浜 決裁",
}


def _caseworkers() -> list[DemoPerson]:
    """One caseworker per role and municipality (the CLI's), and the sign-in page's three."""
    people = []
    for (code, role), name in _STAFF_NAMES.items():
        city_ja, city_en = _CITIES[code]
        role_ja, role_en = _ROLES[role]
        people.append(
            DemoPerson(
                id=f"cw-{code}-{role}",
                kind="caseworker",
                name=name,
                label={
                    "ja": f"{city_ja}の職員（{role_ja}）",
                    "en": f"{city_en} caseworker ({role_en})",
                },
                municipalities=(code,),
                roles=(role,),
                sign_in_page=False,
            )
        )
    people += [
        DemoPerson(
            id="cw-131016-1", kind="caseworker", name="千代田区 受付・調査担当",
            label={"ja": "職員 千代田区（受付・調査）", "en": "Staff, Chiyoda (intake, survey)"},
            municipalities=("131016",), roles=("reviewer", "surveyor"),
        ),
        DemoPerson(
            id="cw-131016-2", kind="caseworker", name="千代田区 決裁者",
            label={"ja": "職員 千代田区（決裁）", "en": "Staff, Chiyoda (approval)"},
            municipalities=("131016",), roles=("approver",),
        ),
        DemoPerson(
            id="cw-141003-1", kind="caseworker", name="横浜市 担当",
            label={"ja": "職員 横浜市（すべての権限）", "en": "Staff, Yokohama (all roles)"},
            municipalities=("141003",), roles=("reviewer", "surveyor", "approver"),
        ),
    ]
    people += [
        DemoPerson(
            id="demo-counter", kind="caseworker", name="千代田区 窓口担当",
            label={"ja": "職員 千代田区（窓口）", "en": "Staff, Chiyoda (counter)"},
            municipalities=("131016",), roles=("counter",),
        ),
        DemoPerson(
            id="demo-counter-141003", kind="caseworker", name="横浜市 窓口担当",
            label={"ja": "職員 横浜市（窓口）", "en": "Staff, Yokohama (counter)"},
            municipalities=("141003",), roles=("counter",), sign_in_page=False,
        ),
        DemoPerson(
            id="demo-support", kind="caseworker", name="千代田区 デジタル活用支援員",
            label={"ja": "デジタル活用支援員 千代田区", "en": "Digital-support helper, Chiyoda"},
            municipalities=("131016",), roles=("digital_support",),
        ),
    ]
    return people


DEMO_ROSTER: tuple[DemoPerson, ...] = (
    DemoPerson(
        id="demo-1",
        kind="resident",
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        address="東京都千代田区九段南1-2-1",
        birthdate=date(1985, 4, 1),
        gender="male",
        acr=DEV_ACR_CARD,
        registry_id="RR-131016-0001",
        label={
            "ja": "住民（千代田区、マイナンバーカードでログイン、妻と子の3人世帯）",
            "en": "Resident (Chiyoda, My Number card; lives with his wife and child)",
        },
    ),
    DemoPerson(
        id="demo-spouse",
        kind="resident",
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        address="東京都千代田区九段南1-2-1",
        birthdate=date(1987, 9, 12),
        gender="female",
        acr=DEV_ACR_CARD,
        registry_id="RR-131016-0002",
        label={
            "ja": "住民（山田 太郎 の妻、同じ世帯）",
            "en": "Resident (Yamada Taro's wife, same household)",
        },
    ),
    DemoPerson(
        id="demo-elderly",
        kind="resident",
        name="鈴木 キヨ",
        name_kana="スズキ キヨ",
        address="東京都千代田区神田駿河台2-1",
        birthdate=date(1939, 2, 11),
        gender="female",
        acr=DEV_ACR_CARD,
        registry_id="RR-131016-0004",
        label={
            "ja": "高齢の住民（87歳、大きな文字が見やすい方、一人暮らし）",
            "en": "Elderly resident (87, prefers large text, lives alone)",
        },
    ),
    DemoPerson(
        id="demo-nonnative",
        kind="resident",
        name="NGUYEN VAN AN",
        name_kana="グエン ヴァン アン",
        address="東京都千代田区麹町1-1",
        birthdate=date(1996, 8, 30),
        gender="male",
        acr=DEV_ACR_CARD,
        registry_id="RR-131016-0005",
        lang="en",
        label={"ja": "外国籍の住民（英語で利用）", "en": "Non-native resident (uses English)"},
    ),
    DemoPerson(
        id="demo-password",
        kind="resident",
        name="佐藤 花子",
        name_kana="サトウ ハナコ",
        address="東京都千代田区一番町3-3",
        birthdate=date(1990, 1, 15),
        gender="female",
        acr=DEV_ACR_PASSWORD,
        registry_id="RR-131016-0007",
        label={
            "ja": "住民（パスワードでログイン：カード必須の手続きは不可）",
            "en": "Resident (password sign-in: too weak for card-only procedures)",
        },
    ),
    DemoPerson(
        id="demo-proxy",
        kind="resident",
        name="田中 一郎",
        name_kana="タナカ イチロウ",
        address="東京都千代田区神田小川町3-3",
        birthdate=date(1970, 12, 3),
        gender="male",
        acr=DEV_ACR_CARD,
        registry_id="RR-131016-0008",
        label={
            "ja": "代理人（同居の母 田中 ハル の代わりに申請する方）",
            "en": "Proxy (applies for his mother Tanaka Haru, who lives with him)",
        },
        proxy_for=ProxyFiling(
            name="田中 ハル",
            name_kana="タナカ ハル",
            birthdate=date(1941, 4, 29),
            relationship="child",
        ),
    ),
    *_caseworkers(),
    DemoPerson(
        id="demo-business",
        kind="business",
        name="株式会社みどり建設",
        name_kana="カブシキガイシャミドリケンセツ",
        address="東京都千代田区大手町1-1-1",
        corporate_number="8010401098765",
        representative="緑川 誠",
        acr=DEV_ACR_BUSINESS,
        label={"ja": "事業者（gBizID相当）", "en": "Business (gBizID-like)"},
        sign_in_page=False,
    ),
)


@dataclass(frozen=True)
class DemoRegistrant:
    """A person in the development resident registry (``persona``: the demo person's id
    when they can sign in, whose four basic facts are then these)."""

    person_id: str
    name: str
    name_kana: str
    birthdate: date
    gender: str
    relationship: str
    persona: str | None = None


@dataclass(frozen=True)
class DemoHousehold:
    """A household of the development resident registry, its head first."""

    household_id: str
    address: str
    postal_code: str
    members: tuple[DemoRegistrant, ...]


@dataclass(frozen=True)
class DemoAccount:
    """A 公金受取口座 of the development public-funds registry (fictional bank)."""

    person_id: str
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: Literal["ordinary", "current", "savings"]
    account_number: str
    holder_kana: str


def _registered(persona_id: str, relationship: str) -> DemoRegistrant:
    """The registry's entry of a demo person who signs in: the same facts their token has."""
    person = next(p for p in DEMO_ROSTER if p.id == persona_id)
    assert person.registry_id and person.name_kana and person.birthdate and person.gender
    return DemoRegistrant(person.registry_id, person.name, person.name_kana, person.birthdate,
                          person.gender, relationship, persona=person.id)


#: The development resident registry. 鈴木 キヨ lives alone (a one-person household: the
#: livelihood support grant pays ¾); the proxy 田中 一郎 lives with the mother he files for.
DEMO_HOUSEHOLDS: tuple[DemoHousehold, ...] = (
    DemoHousehold("HH-131016-0001", "東京都千代田区九段南1-2-1", "102-0074", (
        _registered("demo-1", "世帯主"),
        _registered("demo-spouse", "妻"),
        DemoRegistrant("RR-131016-0003", "山田 さくら", "ヤマダ サクラ", date(2019, 6, 15),
                       "female", "子"),
    )),
    DemoHousehold("HH-131016-0002", "東京都千代田区神田駿河台2-1", "101-0062", (
        _registered("demo-elderly", "世帯主"),
    )),
    DemoHousehold("HH-131016-0003", "東京都千代田区麹町1-1", "102-0083", (
        _registered("demo-nonnative", "世帯主"),
        DemoRegistrant("RR-131016-0006", "NGUYEN THI BINH", "グエン ティ ビン",
                       date(1997, 3, 3), "female", "妻"),
    )),
    DemoHousehold("HH-131016-0004", "東京都千代田区一番町3-3", "102-0082", (
        _registered("demo-password", "世帯主"),
    )),
    DemoHousehold("HH-131016-0005", "東京都千代田区神田小川町3-3", "101-0052", (
        _registered("demo-proxy", "世帯主"),
        DemoRegistrant("RR-131016-0009", "田中 ハル", "タナカ ハル", date(1941, 4, 29),
                       "female", "母"),
    )),
)

#: The development public-funds registry: 山田 太郎, 鈴木 キヨ, NGUYEN VAN AN and 田中 一郎
#: registered an account; 山田 花子, 佐藤 花子 and 田中 ハル did not.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("RR-131016-0001", "0999", "まどぐち銀行", "001", "九段支店", "ordinary",
                "1234567", "ヤマダ タロウ"),
    DemoAccount("RR-131016-0004", "0999", "まどぐち銀行", "002", "神田支店", "ordinary",
                "7654321", "スズキ キヨ"),
    DemoAccount("RR-131016-0005", "0998", "デモ信用金庫", "010", "麹町支店", "savings",
                "1112223", "グエン ヴアン アン"),
    DemoAccount("RR-131016-0008", "0999", "まどぐち銀行", "002", "神田支店", "ordinary",
                "3334445", "タナカ イチロウ"),
)


def sign_in_personas() -> tuple[DemoPerson, ...]:
    """The demo people the development sign-in page offers (residents and staff)."""
    return tuple(p for p in DEMO_ROSTER if p.sign_in_page)


def demo_person(person_id: str) -> DemoPerson:
    """The demo person with this id.

    :raises KeyError: if there is none (the message lists the ids).
    """
    for person in DEMO_ROSTER:
        if person.id == person_id:
            return person
    raise KeyError(f"no demo person {person_id!r}; known: " + ", ".join(p.id for p in DEMO_ROSTER))


def issue_demo_token(
    issuer: DevIssuer, person_id: str, *, ttl: timedelta = timedelta(hours=8)
) -> str:
    """A development token for the demo person ``person_id``.

    :raises KeyError: if there is no such demo person.
    """
    person = demo_person(person_id)
    if person.kind == "resident":
        assert person.acr is not None
        return issuer.issue_resident(
            person.id,
            person.name,
            name_kana=person.name_kana,
            address=person.address,
            birthdate=person.birthdate,
            gender=person.gender,
            acr=person.acr,
            ttl=ttl,
        )
    if person.kind == "business":
        assert person.corporate_number is not None and person.acr is not None
        return issuer.issue_business(
            person.id,
            person.corporate_number,
            person.name,
            corporate_address=person.address,
            representative_name=person.representative,
            acr=person.acr,
            ttl=ttl,
        )
    return issuer.issue_caseworker(
        person.id, person.municipalities, person.roles, name=person.name, ttl=ttl
    )
