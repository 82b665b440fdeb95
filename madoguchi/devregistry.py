"""``madoguchi dev-registry``: a development implementation of both municipal interfaces.

One small ASGI app serves the resident registry under ``/registry`` and the public-funds
account registry under ``/public-funds`` (each as its OpenAPI document in docs/adapters/
specifies), backed by the demo households and accounts of :mod:`identity.demo`, so
everything works offline. ``madoguchi up`` starts it on 127.0.0.1 and hands its URLs and
token to the web and worker processes. It is for development only: the data is fictional,
and what changes (a birth registered with ``POST /dev/households/{household_id}/members``,
not part of the municipal interface) lives in this process's memory only.

A person is found by the card's four basic facts as a person would compare them: the
name and the address in NFKC, case folded, without spaces (as forms.dedupe normalizes),
the birth date exactly, and the gender only when the query gives one.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import click
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from adapters.models import (
    DeceasedMember,
    HouseholdMember,
    PersonQuery,
    PublicFundsAccount,
    RegistryRecord,
)
from forms.dedupe import normalized
from identity.demo import (
    DEMO_ACCOUNTS,
    DEMO_HOUSEHOLDS,
    DemoAccount,
    DemoHousehold,
    DemoRegistrant,
)
from madoguchi.settings import read_secret

REGISTRY_PREFIX = "/registry"
PUBLIC_FUNDS_PREFIX = "/public-funds"


class _Refusal(Exception):
    def __init__(self, status: int, code: str, ja: str, en: str) -> None:
        self.status, self.code, self.ja, self.en = status, code, ja, en


def _error(status: int, code: str, ja: str, en: str) -> JSONResponse:
    """The interfaces' error body (``Error`` in the OpenAPI documents)."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": code, "message": {"ja": ja, "en": en}}, status_code=status,
                        headers=headers)


class NewMember(BaseModel):
    """A person registered into a household (a birth, a move in): development only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    name_kana: str = Field(min_length=1, max_length=100)
    birthdate: date
    gender: str = Field(min_length=1, max_length=16)
    relationship: str = Field(min_length=1, max_length=16)


class DemoRegistry:
    """The demo households and accounts, indexed for the two interfaces."""

    def __init__(self, households: Sequence[DemoHousehold] = DEMO_HOUSEHOLDS,
                 accounts: Sequence[DemoAccount] = DEMO_ACCOUNTS) -> None:
        self._households = {h.household_id: h for h in households}
        self._accounts = {a.person_id: a for a in accounts}
        self._lock = threading.Lock()
        self._added = 0

    def _household_of(self, person_id: str) -> DemoHousehold | None:
        return next((h for h in self._households.values()
                     if any(m.person_id == person_id for m in h.members)), None)

    def add_member(self, household_id: str, member: NewMember) -> RegistryRecord | None:
        """Register ``member`` into the household (None: no such household); the new
        person's record, with the household as it is now."""
        with self._lock:
            household = self._households.get(household_id)
            if household is None:
                return None
            self._added += 1
            person_id = f"RR-DEV-{self._added:04d}"
            added = DemoRegistrant(person_id, member.name, member.name_kana, member.birthdate,
                                   member.gender, member.relationship)
            self._households[household_id] = replace(household,
                                                     members=(*household.members, added))
        return self.record(person_id)

    def record(self, person_id: str) -> RegistryRecord | None:
        household = self._household_of(person_id)
        if household is None:
            return None
        return RegistryRecord(
            person_id=person_id, household_id=household.household_id,
            address=household.address, postal_code=household.postal_code,
            head=household.members[0].name,
            members=[HouseholdMember(person_id=m.person_id, name=m.name, name_kana=m.name_kana,
                                     birthdate=m.birthdate, gender=m.gender,
                                     relationship=m.relationship)
                     for m in household.members],
            deceased=[DeceasedMember(person_id=m.person_id, name=m.name, name_kana=m.name_kana,
                                     birthdate=m.birthdate, gender=m.gender,
                                     relationship=m.relationship, died_on=m.died_on)
                      for m in household.deceased if m.died_on is not None])

    def find(self, query: PersonQuery) -> RegistryRecord | None:
        name, address = normalized(query.name), normalized(query.address)
        matches = [member.person_id for household in self._households.values()
                   if normalized(household.address) == address for member in household.members
                   if normalized(member.name) == name and member.birthdate == query.birthdate
                   and (query.gender is None or query.gender == member.gender)]
        # Ambiguous is not found: the registry never guesses which person is meant.
        return self.record(matches[0]) if len(matches) == 1 else None

    def account(self, person_id: str) -> PublicFundsAccount | None:
        found = self._accounts.get(person_id)
        if found is None:
            return None
        return PublicFundsAccount(
            bank_code=found.bank_code, bank_name=found.bank_name,
            branch_code=found.branch_code, branch_name=found.branch_name,
            account_type=found.account_type, account_number=found.account_number,
            holder_kana=found.holder_kana)


def create_dev_registry_app(token: str, registry: DemoRegistry | None = None) -> FastAPI:
    """The ASGI app of both interfaces, answering only ``Authorization: Bearer <token>``."""
    data = registry or DemoRegistry()
    app = FastAPI(title="madoguchi development registry", docs_url=None, redoc_url=None,
                  openapi_url=None)
    expected = f"Bearer {token}".encode()

    @app.exception_handler(_Refusal)
    async def _refused(request: Request, exc: _Refusal) -> JSONResponse:
        return _error(exc.status, exc.code, exc.ja, exc.en)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_query", "検索条件が正しくありません。",
                      "The search query is not valid.")

    def authorized(request: Request) -> None:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise _Refusal(401, "unauthorized", "認証できません。",
                           "Missing or wrong bearer token.")

    guarded = [Depends(authorized)]

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(REGISTRY_PREFIX + "/v1/persons/search", dependencies=guarded)
    async def search(query: PersonQuery) -> RegistryRecord:
        found = data.find(query)
        if found is None:
            raise _Refusal(404, "person_not_found", "該当する住民が見つかりません。",
                           "No resident matches.")
        return found

    @app.get(REGISTRY_PREFIX + "/v1/persons/{person_id}", dependencies=guarded)
    async def person(person_id: str) -> RegistryRecord:
        found = data.record(person_id)
        if found is None:
            raise _Refusal(404, "person_not_found", "該当する住民が見つかりません。",
                           "No such resident.")
        return found

    @app.post("/dev/households/{household_id}/members", dependencies=guarded,
              status_code=201)
    async def register_member(household_id: str, member: NewMember) -> RegistryRecord:
        added = data.add_member(household_id, member)
        if added is None:
            raise _Refusal(404, "household_not_found", "該当する世帯がありません。",
                           "No such household.")
        return added

    @app.get(PUBLIC_FUNDS_PREFIX + "/v1/persons/{person_id}/account", dependencies=guarded)
    async def account(person_id: str) -> PublicFundsAccount:
        found = data.account(person_id)
        if found is None:
            raise _Refusal(404, "account_not_found", "公金受取口座の登録がありません。",
                           "No public-funds account is registered.")
        return found

    return app


@click.command("dev-registry")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (keep it on loopback: the data is fictional, the "
                   "token is the only lock)")
@click.option("--port", type=click.IntRange(1, 65535), required=True)
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              required=True, help="File holding the bearer token clients must send")
def dev_registry(host: str, port: int, token_file: Path) -> None:
    """Serve the development resident registry and public-funds account registry."""
    import uvicorn

    token = read_secret(token_file, variable="--token-file")
    uvicorn.run(create_dev_registry_app(token), host=host, port=port, log_level="warning",
                access_log=False, lifespan="off")
