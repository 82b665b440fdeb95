"""Principals: who is acting, as established by a verified token.

A principal carries what the rest of madoguchi may rely on and nothing more. The
``subject`` is the issuer's pseudonymous id (never the My Number); ``(issuer, subject)``
together identify a person. Models are frozen and strict, so a principal cannot be
altered after verification and ``"131016"`` is never silently turned into a number.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from forms.checkdigits import is_valid_corporate_number
from identity.issuers import AssuranceLevel

__all__ = ["AnyPrincipal", "Business", "Caseworker", "Principal", "Resident"]

# 地方公共団体コード: six ASCII digits (``\d`` would also accept full-width digits).
_MUNICIPALITY_CODE = re.compile(r"[0-9]{6}")
_ROLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")

_Text = Annotated[str, Field(min_length=1, max_length=1024)]


class _PrincipalBase(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    issuer: _Text
    subject: Annotated[str, Field(min_length=1, max_length=255)]


class Resident(_PrincipalBase):
    """A resident (住民) signed in through a resident identity issuer.

    ``assurance`` is the token's ``acr``: how the identity was proven (e.g. with the
    個人番号カード), which a procedure may require; ``assurance_level`` is what the
    issuer's configuration maps that ``acr`` to (``low`` when it does not list it).
    The basic four attributes (基本4情報: 氏名・住所・生年月日・性別) are present when the
    issuer provides them, with the name's kana where it does.
    """

    kind: Literal["resident"] = "resident"
    name: _Text | None
    name_kana: _Text | None = None
    address: _Text | None = None
    birthdate: date | None = None
    gender: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    assurance: _Text
    assurance_level: AssuranceLevel = "low"


class Business(_PrincipalBase):
    """A business (法人) signed in through a business ID issuer such as gBizID.

    ``corporate_number`` is the 13-digit 法人番号, check digit verified; ``name`` the
    corporation's name, ``representative`` its representative (代表者). ``user_name`` is
    the person at the keyboard when the issuer says (an employee acting for the company).
    """

    kind: Literal["business"] = "business"
    corporate_number: Annotated[str, Field(min_length=13, max_length=13)]
    name: _Text
    name_kana: _Text | None = None
    address: _Text | None = None
    representative: _Text | None = None
    user_name: _Text | None = None
    assurance: _Text
    assurance_level: AssuranceLevel = "low"

    @field_validator("corporate_number")
    @classmethod
    def _corporate_number(cls, value: str) -> str:
        if not is_valid_corporate_number(value):
            raise ValueError("not a 法人番号 with a valid check digit")
        return value


class Caseworker(_PrincipalBase):
    """A municipal caseworker (職員) signed in through a staff directory issuer.

    ``municipalities`` are the 地方公共団体コード the caseworker may act for; ``roles``
    are procedure roles (e.g. ``"surveyor"``, ``"approver"``). Both are non-empty.
    ``departments`` (ids of the municipality's contacts, e.g. ``hoken-nenkin``) limit the
    caseworker to those departments' procedures; empty: every department.
    """

    kind: Literal["caseworker"] = "caseworker"
    name: _Text | None = None
    municipalities: frozenset[str] = Field(min_length=1, max_length=2000)
    roles: frozenset[str] = Field(min_length=1, max_length=200)
    departments: frozenset[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")]] = Field(
        default=frozenset(), max_length=50)

    @field_validator("municipalities")
    @classmethod
    def _municipality_codes(cls, value: frozenset[str]) -> frozenset[str]:
        for code in value:
            if not _MUNICIPALITY_CODE.fullmatch(code):
                raise ValueError("each municipality is a six-digit 地方公共団体コード")
        return value

    @field_validator("roles")
    @classmethod
    def _role_names(cls, value: frozenset[str]) -> frozenset[str]:
        for role in value:
            if not _ROLE.fullmatch(role):
                raise ValueError("a role is 1-64 characters of [A-Za-z0-9_.:-]")
        return value

    def can_act_for(self, municipality: str) -> bool:
        """Whether this caseworker may act for the municipality with this code."""
        return municipality in self.municipalities


#: Any principal, for type hints.
AnyPrincipal = Resident | Business | Caseworker
#: Any principal, for parsing (pydantic picks the class by ``kind``).
Principal = Annotated[AnyPrincipal, Field(discriminator="kind")]
"""Any kind of principal; pydantic picks the model by ``kind``."""
