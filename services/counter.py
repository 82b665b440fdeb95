"""Counter filing (窓口でもデジタル): sessions, filing for the resident present, confirmation.

Counter staff (role ``counter``) open a session for the resident in front of them after an
in-person identity check, file procedures or a whole life event *for* that resident (the
resident is the applicant; the staff member is recorded as ``filed_by``) in two steps —
prepare (validated, nothing started) and confirm (the resident has read it on the
confirmation screen) — and close the session. See docs/counter-engine.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.models import AdapterUnavailable, PersonQuery, RegistryRecord, ResidentRegistry
from forms.filing import validate_application
from identity.counter import (
    COUNTER_ISSUER,
    COUNTER_ROLE,
    IN_PERSON_ACR,
    METHOD_TEXTS,
    CheckMethod,
)
from identity.principals import AnyPrincipal, Caseworker, Resident
from records.counter import CounterStore, CounterStoreUnavailable, new_id
from services.cases import CaseService, applicant_claims
from services.life_events import LifeEventService
from services.refusals import InvalidData, Refused
from workflows.models import ApplicationView, CounterFiling

__all__ = [
    "ConfirmedFiling", "CounterService", "CounterSessionView", "OpenSession", "PrepareFiling",
    "PrepareLifeEvent", "PreparedFiling", "RegistryMatch", "ResidentFacts",
]

Lang = Literal["ja", "en"]
_Text = Field(min_length=1, max_length=200)


class ResidentFacts(BaseModel):
    """The four basic facts (基本4情報) of the resident present, as staff read them from
    the identity document (never the card's 個人番号)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = _Text
    name_kana: str | None = Field(default=None, max_length=200)
    birthdate: date
    address: str = _Text
    gender: str | None = Field(default=None, max_length=64)


class OpenSession(BaseModel):
    """What counter staff give to open a session."""

    model_config = ConfigDict(extra="forbid")

    municipality: str = Field(pattern=r"^[0-9]{6}$")
    counter_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    method: CheckMethod
    resident: ResidentFacts


class RegistryMatch(BaseModel):
    """The registry's answer to a counter lookup: the person and their household."""

    state: Literal["verified", "not_found", "unavailable"]
    record: RegistryRecord | None = None


class CounterSessionView(BaseModel):
    """A session as its staff member sees it."""

    id: str
    municipality: str
    counter_id: str
    method: CheckMethod
    method_text: dict[str, str]
    staff_subject: str
    staff_name: str | None
    resident: ResidentFacts
    verified: bool  # the registry found the resident (False: typed in, not verified)
    person_id: str | None
    household: RegistryRecord | None = None
    opened_at: datetime
    expires_at: datetime
    closed: bool


class PrepareFiling(BaseModel):
    """A procedure to file for the session's resident."""

    model_config = ConfigDict(extra="forbid")

    procedure_id: str = Field(min_length=1, max_length=128)
    data: dict[str, Any]
    lang: Lang = "ja"


class PrepareLifeEvent(BaseModel):
    """A life event to file for the session's resident."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any]
    selected: list[str] = Field(default_factory=list, max_length=50)
    lang: Lang = "ja"


class PreparedFiling(BaseModel):
    """A filing ready for the resident's confirmation; ``id`` is the confirmation token."""

    id: str
    session_id: str
    kind: Literal["procedure", "life_event"]
    target: str  # the procedure or life event id
    title: dict[str, str]
    data: dict[str, Any]
    prepared_at: datetime
    confirmed: bool = False
    result_id: str | None = None  # the application or bundle id once confirmed


class ConfirmedFiling(BaseModel):
    """What confirming started: a case (``application``) or a life event's bundle."""

    filing: PreparedFiling
    application: ApplicationView | None = None
    bundle_id: str | None = None


def session_not_found() -> Refused:
    return Refused("not_found", "counter_session_not_found",
                   "窓口の受付が見つからないか、終了しています。もう一度受付を始めてください。",
                   "This counter session was not found or has ended. Please start again.")


def _counter_only(principal: AnyPrincipal) -> Caseworker:
    if not isinstance(principal, Caseworker) or COUNTER_ROLE not in principal.roles:
        raise Refused("forbidden", "counter_staff_only", "この操作は窓口担当の職員のみ行えます。",
                      "Only counter staff can do this.")
    return principal


class CounterService:
    """The counter use cases of one installation."""

    def __init__(self, cases: CaseService, life_events: LifeEventService | None,
                 store: CounterStore, *, registry: ResidentRegistry | None,
                 idle_minutes: int = 30,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._cases = cases
        self._life_events = life_events
        self._store = store
        self._registry = registry
        self._idle = timedelta(minutes=idle_minutes)
        self._clock = clock

    # ---- the registry -------------------------------------------------------------

    async def lookup(self, principal: AnyPrincipal, municipality: str,
                     facts: ResidentFacts) -> RegistryMatch:
        """Look the resident present up in the resident registry by their four facts."""
        staff = _counter_only(principal)
        self._municipality(staff, municipality)
        return await self._find(facts)

    async def _find(self, facts: ResidentFacts) -> RegistryMatch:
        if self._registry is None:
            return RegistryMatch(state="unavailable")
        query = PersonQuery(name=facts.name, birthdate=facts.birthdate, address=facts.address,
                            gender=facts.gender, name_kana=facts.name_kana)
        try:
            record = await self._registry.find(query)
        except AdapterUnavailable:
            return RegistryMatch(state="unavailable")
        return RegistryMatch(state="verified" if record else "not_found", record=record)

    # ---- sessions -----------------------------------------------------------------

    async def open(self, principal: AnyPrincipal, request: OpenSession) -> CounterSessionView:
        """Open a session for the resident present. The registry is asked with the facts
        staff typed; found → ``verified`` with the registry's person id, otherwise (not
        found, registry down) the session runs on the typed facts, marked not verified."""
        raise NotImplementedError

    async def get(self, principal: AnyPrincipal, session_id: str) -> CounterSessionView:
        """The session, if it is the caller's own, open and not idle too long."""
        raise NotImplementedError

    async def close(self, principal: AnyPrincipal, session_id: str) -> None:
        """End the session: nothing more can be filed in it."""
        raise NotImplementedError

    # ---- filing -------------------------------------------------------------------

    async def prepare(self, principal: AnyPrincipal, session_id: str,
                      request: PrepareFiling) -> PreparedFiling:
        """Validate a procedure's form for the session's resident; nothing is started."""
        raise NotImplementedError

    async def prepare_life_event(self, principal: AnyPrincipal, session_id: str,
                                 life_event_id: str,
                                 request: PrepareLifeEvent) -> PreparedFiling:
        """Check a life event's answers for the session's resident; nothing is started."""
        raise NotImplementedError

    async def filing(self, principal: AnyPrincipal, session_id: str,
                     filing_id: str) -> PreparedFiling:
        """A prepared filing (what the resident's confirmation page shows)."""
        raise NotImplementedError

    async def confirm(self, principal: AnyPrincipal, session_id: str,
                      filing_id: str) -> ConfirmedFiling:
        """The resident confirmed: file it. Confirming twice answers the first result."""
        raise NotImplementedError

    def _municipality(self, staff: Caseworker, municipality: str) -> None:
        if not staff.can_act_for(municipality):
            raise Refused("forbidden", "wrong_municipality",
                          "この自治体の窓口業務は行えません。",
                          "You cannot work at this municipality's counter.")


_ = (asyncio, Sequence, validate_application, applicant_claims, InvalidData, COUNTER_ISSUER,
     IN_PERSON_ACR, METHOD_TEXTS, Resident, CounterStoreUnavailable, new_id)
