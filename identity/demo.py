"""Demo people for development mode: who the CLI and the development login page offer.

Every person here is fictional (the corporate numbers have valid check digits but are
made up). The roster covers what a demo or a manual test needs: residents — an elderly
resident, a non-native resident, one signed in with a password only (too weak for a
card-only procedure) — a proxy filing for a parent, caseworkers for each role of
千代田区 (131016) and 横浜市 (141003), and a business.

:func:`issue_demo_token` signs a token for one of them with the :class:`DevIssuer`; it
exists only for development mode, like the issuer itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from identity.devissuer import DEV_ACR_BUSINESS, DEV_ACR_CARD, DEV_ACR_PASSWORD, DevIssuer
from identity.proxy import ProxyFiling

__all__ = ["DEMO_ROSTER", "DemoPerson", "demo_person", "issue_demo_token"]


@dataclass(frozen=True)
class DemoPerson:
    """One demo identity. ``id`` is also the token's ``sub``.

    ``proxy_for`` is set for a proxy: whom they file for, as their label says (what a
    tester types in the filing's proxy section).
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
            )
        )
    return people


DEMO_ROSTER: tuple[DemoPerson, ...] = (
    DemoPerson(
        id="demo-1",
        kind="resident",
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        address="東京都千代田区九段南1-2-1",
        birthdate=date(1980, 5, 5),
        gender="male",
        acr=DEV_ACR_CARD,
        label={
            "ja": "住民（マイナンバーカードでログイン）",
            "en": "Resident (signed in with the My Number card)",
        },
    ),
    DemoPerson(
        id="demo-elderly",
        kind="resident",
        name="高橋 トメ",
        name_kana="タカハシ トメ",
        address="神奈川県横浜市中区港町1-1",
        birthdate=date(1936, 3, 10),
        gender="female",
        acr=DEV_ACR_CARD,
        label={"ja": "高齢の住民（1936年生まれ）", "en": "Elderly resident (born 1936)"},
    ),
    DemoPerson(
        id="demo-nonnative",
        kind="resident",
        name="NGUYEN VAN AN",
        name_kana="グエン ヴァン アン",
        address="東京都千代田区神田駿河台2-1",
        birthdate=date(1995, 8, 20),
        gender="male",
        acr=DEV_ACR_CARD,
        label={"ja": "外国籍の住民（英語で利用）", "en": "Non-native resident (uses English)"},
    ),
    DemoPerson(
        id="demo-password",
        kind="resident",
        name="佐藤 花子",
        name_kana="サトウ ハナコ",
        address="東京都千代田区麹町1-1",
        birthdate=date(1990, 1, 15),
        gender="female",
        acr=DEV_ACR_PASSWORD,
        label={
            "ja": "住民（パスワードでログイン：カード必須の手続きは不可）",
            "en": "Resident (password sign-in: too weak for card-only procedures)",
        },
    ),
    DemoPerson(
        id="demo-proxy",
        kind="resident",
        name="高橋 一郎",
        name_kana="タカハシ イチロウ",
        address="神奈川県横浜市中区山下町2-2",
        birthdate=date(1964, 7, 1),
        gender="male",
        acr=DEV_ACR_CARD,
        label={
            "ja": "代理人（母 高橋 トメ の代理で申請）",
            "en": "Proxy (files for his mother, Takahashi Tome)",
        },
        proxy_for=ProxyFiling(
            name="高橋 トメ",
            name_kana="タカハシ トメ",
            birthdate=date(1936, 3, 10),
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
    ),
)


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
