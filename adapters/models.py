"""What the adapters answer: the registry's person and household, the public-funds account.

These are the boundary models of the two HTTP interfaces (docs/adapters/); they hold
personal data and are never logged whole.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PersonQuery(_Model):
    """Who to find: the card's four basic facts (基本4情報) as the sign-in gave them."""

    name: str
    birthdate: date
    address: str
    gender: str | None = None
    name_kana: str | None = None


class HouseholdMember(_Model):
    person_id: str
    name: str
    name_kana: str | None = None
    birthdate: date
    gender: str | None = None
    relationship: str = Field(description="続柄 as the registry writes it: 世帯主, 妻, 子, ...")


class DeceasedMember(HouseholdMember):
    """A member of the household who died (住民票の除票): the date of death as registered."""

    died_on: date


class RegistryRecord(_Model):
    """A person found in the registry, with their household."""

    person_id: str = Field(description="The registry's own id (住民票コード-like, opaque)")
    household_id: str
    address: str
    postal_code: str | None = None
    head: str = Field(description="世帯主's name")
    members: list[HouseholdMember]
    deceased: list[DeceasedMember] = Field(
        default_factory=list, description="Members who died (除票), newest first: おくやみ")


class PublicFundsAccount(_Model):
    """A registered 公金受取口座."""

    bank_code: str = Field(pattern=r"^[0-9]{4}$")
    bank_name: str
    branch_code: str = Field(pattern=r"^[0-9]{3}$")
    branch_name: str
    account_type: Literal["ordinary", "current", "savings"]
    account_number: str = Field(pattern=r"^[0-9]{7}$")
    holder_kana: str


class AdapterUnavailable(Exception):
    """The municipal system did not answer in time, or answered with an error: the caller
    falls back (the resident types the data, marked as not verified)."""


class ResidentRegistry(Protocol):
    async def find(self, query: PersonQuery) -> RegistryRecord | None:
        """The person and their household; None when the registry has no such person."""

    async def person(self, person_id: str) -> RegistryRecord | None:
        """The person (by the registry's id) and their household as it is now."""


class PublicFundsAccounts(Protocol):
    async def account(self, person_id: str) -> PublicFundsAccount | None:
        """The person's registered account; None when they registered none."""
