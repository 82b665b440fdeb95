"""Counter filing (窓口でもデジタル): sessions, filing for the resident present, confirmation.

Counter staff (role ``counter``) open a session for the resident in front of them after an
in-person identity check, file procedures or a whole life event *for* that resident (the
resident is the applicant; the staff member is recorded as ``filed_by``) in two steps —
prepare (validated, nothing started) and confirm (the resident has read it on the
confirmation screen) — and close the session. See docs/counter-engine.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.models import AdapterUnavailable, PersonQuery, RegistryRecord, ResidentRegistry
from forms.filing import validate_application
from identity.counter import (
    COUNTER_ISSUER,
    COUNTER_ROLE,
    DIGITAL_SUPPORT_ROLE,
    IN_PERSON_ACR,
    METHOD_TEXTS,
    CheckMethod,
)
from identity.principals import AnyPrincipal, Caseworker, Resident
from records.counter import CounterStore, CounterStoreUnavailable, new_id
from services.cases import CaseService, applicant_claims, check_filing_assurance
from services.life_events import BundleStatus, LifeEventService, Offer, Questionnaire
from services.refusals import InvalidData, Refused, not_configured
from workflows.models import ApplicationView, CounterFiling

__all__ = [
    "ConfirmedFiling",
    "CounterService",
    "CounterSessionView",
    "CounterSummary",
    "LookupRequest",
    "OpenSession",
    "PrepareFiling",
    "PrepareLifeEvent",
    "PreparedFiling",
    "RegistryMatch",
    "ResidentFacts",
    "counter_summary",
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


class LookupRequest(BaseModel):
    """A registry lookup at the counter."""

    model_config = ConfigDict(extra="forbid")

    municipality: str = Field(pattern=r"^[0-9]{6}$")
    resident: ResidentFacts


class HelperCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    municipality: str = Field(pattern=r"^[0-9]{6}$")


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


class CounterSummary(BaseModel):
    """How a case shows that it was filed at a counter (ja/en ``text``); ``staff`` is
    None for the resident, who sees that the municipality filed it, not which employee."""

    staff: str | None
    counter_id: str
    method: str
    verified: bool
    text: dict[str, str]


def counter_summary(counter: CounterFiling, *, staff_visible: bool) -> CounterSummary:
    """The case's "filed at the counter by …, identity checked by …, at …" line."""
    method = METHOD_TEXTS[counter.method]
    who_ja = (counter.staff_name or counter.staff_subject) if staff_visible else "職員"
    who_en = (counter.staff_name or counter.staff_subject) if staff_visible else "staff"
    unverified_ja = "" if counter.verified else "（住民記録と照合できず、未確認）"
    unverified_en = "" if counter.verified else " (not matched with the resident register)"
    return CounterSummary(
        staff=counter.staff_subject if staff_visible else None,
        counter_id=counter.counter_id, method=counter.method, verified=counter.verified,
        text={"ja": f"窓口（{counter.counter_id}）で{who_ja}が受け付けました。"
                    f"本人確認：{method.ja}{unverified_ja}",
              "en": f"Filed at the counter ({counter.counter_id}) by {who_en}; identity "
                    f"checked by {method.en}{unverified_en}."})


class HelperCode(BaseModel):
    """A digital-support helper's code: the resident types it on their own filing so the
    help is recorded (``assisted_by``). It names the helper only; it gives nobody any
    right on the filing, so it cannot be turned into a proxy."""

    code: str
    municipality: str
    expires_at: datetime


#: Helper codes: 8 characters without look-alikes (0/O, 1/I/L), valid for a short while.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
HELPER_CODE_MINUTES = 15


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def session_not_found() -> Refused:
    return Refused("not_found", "not_found",
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
        staff = _counter_only(principal)
        self._municipality(staff, request.municipality)
        match = await self._find(request.resident)
        now = self._clock()
        session_id = new_id()
        record = match.record
        self._write(self._store.open, {
            "id": session_id, "staff_issuer": staff.issuer, "staff_subject": staff.subject,
            "staff_name": staff.name, "municipality": request.municipality,
            "counter_id": request.counter_id, "method": request.method,
            "person_id": record.person_id if record else None,
            "verified": record is not None,
            "resident": request.resident.model_dump(mode="json"),
            "opened_at": now, "last_used_at": now, "closed_at": None})
        return await self.get(staff, session_id)

    async def get(self, principal: AnyPrincipal, session_id: str) -> CounterSessionView:
        """The session, if it is the caller's own, open and not idle too long (each use
        keeps it open for another ``idle_minutes``)."""
        row = self._live(principal, session_id)
        now = self._clock()
        self._write(self._store.touch, session_id, now)
        row["last_used_at"] = now
        household = None
        if row["person_id"] is not None and self._registry is not None:
            try:
                household = await self._registry.person(row["person_id"])
            except AdapterUnavailable:
                household = None
        return self._view(row, household)

    async def close(self, principal: AnyPrincipal, session_id: str) -> None:
        """End the session: nothing more can be filed in it."""
        self._live(principal, session_id)
        self._write(self._store.close, session_id, self._clock())

    def _live(self, principal: AnyPrincipal, session_id: str) -> dict[str, Any]:
        staff = _counter_only(principal)
        row = self._read(self._store.session, session_id)
        # Another staff member's session, or another issuer's same subject: not found.
        if (row is None or row["staff_subject"] != staff.subject
                or row["staff_issuer"] != staff.issuer
                or not staff.can_act_for(row["municipality"])):
            raise session_not_found()
        if row["closed_at"] is not None:
            raise session_not_found()
        if self._clock() >= _utc(row["last_used_at"]) + self._idle:
            raise Refused("conflict", "counter_session_expired",
                          "窓口の受付は時間切れで終了しました。もう一度受付を始めてください。",
                          "This counter session timed out. Please start a new one.")
        return row

    def _view(self, row: dict[str, Any], household: RegistryRecord | None) -> CounterSessionView:
        return CounterSessionView(
            id=row["id"], municipality=row["municipality"], counter_id=row["counter_id"],
            method=row["method"], method_text=METHOD_TEXTS[row["method"]].model_dump(),
            staff_subject=row["staff_subject"], staff_name=row["staff_name"],
            resident=ResidentFacts.model_validate(row["resident"]),
            verified=row["verified"], person_id=row["person_id"], household=household,
            opened_at=_utc(row["opened_at"]),
            expires_at=_utc(row["last_used_at"]) + self._idle,
            closed=row["closed_at"] is not None)

    def resident_of(self, row: dict[str, Any]) -> Resident:
        """The resident present as the filing services take them: a counter principal
        (see :mod:`identity.counter`); the subject is the registry's person id, or one
        of this session alone when the resident was not found."""
        facts = ResidentFacts.model_validate(row["resident"])
        subject = row["person_id"] or f"unverified:{row['id']}"
        return Resident(issuer=COUNTER_ISSUER, subject=subject, name=facts.name,
                        name_kana=facts.name_kana, address=facts.address,
                        birthdate=facts.birthdate, gender=facts.gender,
                        assurance=IN_PERSON_ACR, assurance_level="low")

    @staticmethod
    def _filed_by(row: dict[str, Any]) -> CounterFiling:
        return CounterFiling(staff_subject=row["staff_subject"], staff_name=row["staff_name"],
                             counter_id=row["counter_id"], method=row["method"],
                             verified=row["verified"])

    # ---- filing -------------------------------------------------------------------

    async def prepare(self, principal: AnyPrincipal, session_id: str,
                      request: PrepareFiling) -> PreparedFiling:
        """Validate a procedure's form for the session's resident; nothing is started.

        :raises Refused: as filing would (``assurance_too_low`` when the procedure does
            not accept an in-person check, ``invalid_data`` with the field errors, ...).
        """
        row = self._live(principal, session_id)
        resident = self.resident_of(row)
        catalogue = self._cases.catalogue
        municipality = catalogue.municipality(row["municipality"])
        procedure = catalogue.procedure(request.procedure_id, municipality=municipality.code)
        definition = procedure.definition
        if definition.applicant not in ("any", "resident"):
            raise Refused("forbidden", "wrong_applicant_kind",
                          "この手続きは窓口では住民の方のためにのみ申請できます。",
                          "At the counter, only residents' procedures can be filed.")
        check_filing_assurance(definition.assurance, resident)
        result = await asyncio.to_thread(
            validate_application, procedure, municipality, request.data,
            attachments=None, owner=self._cases.applicant_key(resident),
            applicant=applicant_claims(resident))
        if not result.valid:
            raise InvalidData(result.errors)
        return self._prepared(row, "procedure", request.procedure_id,
                              dict(definition.title), request.model_dump(mode="json"))

    async def prepare_life_event(self, principal: AnyPrincipal, session_id: str,
                                 life_event_id: str,
                                 request: PrepareLifeEvent) -> PreparedFiling:
        """Check a life event's answers for the session's resident; nothing is started."""
        row = self._live(principal, session_id)
        events = self._events()
        resident = self.resident_of(row)
        offers = await events.offers(resident, life_event_id, row["municipality"],
                                     request.answers)
        offered = {o.procedure for o in offers if o.eligible}
        missing = sorted(set(request.selected) - offered)
        if missing:
            raise Refused("invalid", "not_offered", "選べない手続きが含まれています。",
                          f"'{missing[0]}' is not offered for these answers.",
                          details={"procedure": missing[0]})
        event = events.life_event(life_event_id, row["municipality"])
        return self._prepared(row, "life_event", life_event_id,
                              dict(event.definition.title), request.model_dump(mode="json"))

    async def questionnaire(self, principal: AnyPrincipal, session_id: str,
                            life_event_id: str, lang: Lang = "ja") -> Questionnaire:
        """A life event's questionnaire prefilled for the session's resident (the registry's
        record of the person present), as the resident's own pages get it."""
        row = self._live(principal, session_id)
        return await self._events().questionnaire(self.resident_of(row), life_event_id,
                                                  row["municipality"], lang)

    async def offers(self, principal: AnyPrincipal, session_id: str, life_event_id: str,
                     answers: dict[str, Any]) -> list[Offer]:
        """What the life event offers the session's resident for these answers."""
        row = self._live(principal, session_id)
        return await self._events().offers(self.resident_of(row), life_event_id,
                                           row["municipality"], answers)

    async def bundle(self, principal: AnyPrincipal, session_id: str,
                     bundle_id: str) -> BundleStatus:
        """A bundle filed for the session's resident, as that resident sees it (another
        resident's bundle is not found, even in the staff member's municipality)."""
        row = self._live(principal, session_id)
        return await self._events().status(self.resident_of(row), bundle_id)

    def _prepared(self, row: dict[str, Any], kind: Literal["procedure", "life_event"],
                  target: str, title: dict[str, str],
                  request: dict[str, Any]) -> PreparedFiling:
        filing = {"id": new_id(), "session_id": row["id"], "kind": kind, "target": target,
                  "request": {"title": title, **request}, "prepared_at": self._clock(),
                  "result": None}
        self._write(self._store.prepare, filing)
        return _prepared_view(filing)

    async def filing(self, principal: AnyPrincipal, session_id: str,
                     filing_id: str) -> PreparedFiling:
        """A prepared filing (what the resident's confirmation page shows)."""
        self._live(principal, session_id)
        return _prepared_view(self._filing_row(session_id, filing_id))

    def _filing_row(self, session_id: str, filing_id: str) -> dict[str, Any]:
        found = self._read(self._store.filing, filing_id)
        if found is None or found["session_id"] != session_id:
            raise Refused("not_found", "not_found",
                          "確認する申請が見つかりません。", "No such filing to confirm.")
        return found

    async def confirm(self, principal: AnyPrincipal, session_id: str,
                      filing_id: str) -> ConfirmedFiling:
        """The resident confirmed: file it. Confirming twice answers the first result (the
        filing id is the idempotency key of the filing)."""
        row = self._live(principal, session_id)
        found = self._filing_row(session_id, filing_id)
        resident = self.resident_of(row)
        request = found["request"]
        if found["kind"] == "procedure":
            view = await self._cases.submit(
                resident, found["target"], row["municipality"], request["data"],
                lang=request["lang"], idempotency_key=f"counter:{filing_id}",
                counter=self._filed_by(row))
            found["result"] = {"application_id": view.application_id}
            self._write(self._store.complete, filing_id, found["result"])
            return ConfirmedFiling(filing=_prepared_view(found), application=view)
        bundle = await self._events().submit(
            resident, found["target"], row["municipality"], request["answers"],
            request["selected"], lang=request["lang"], idempotency_key=f"counter:{filing_id}",
            counter=self._filed_by(row))
        found["result"] = {"bundle_id": bundle.bundle_id}
        self._write(self._store.complete, filing_id, found["result"])
        return ConfirmedFiling(filing=_prepared_view(found), bundle_id=bundle.bundle_id)

    # ---- digital support ----------------------------------------------------------

    async def helper_code(self, principal: AnyPrincipal, municipality: str) -> HelperCode:
        """A new code for a digital-support helper (role ``digital_support``) to tell the
        resident they help; the resident signs in with their own card and files."""
        if not isinstance(principal, Caseworker) or DIGITAL_SUPPORT_ROLE not in principal.roles:
            raise Refused("forbidden", "digital_support_only",
                          "この操作はデジタル活用支援員のみ行えます。",
                          "Only digital-support helpers can do this.")
        self._municipality(principal, municipality)
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        expires = self._clock() + timedelta(minutes=HELPER_CODE_MINUTES)
        self._write(self._store.add_helper_code, {
            "digest": _digest(code), "helper_issuer": principal.issuer,
            "helper_subject": principal.subject, "municipality": municipality,
            "expires_at": expires})
        return HelperCode(code=f"{code[:4]}-{code[4:]}", municipality=municipality,
                          expires_at=expires)

    def helper_of(self, principal: AnyPrincipal, municipality: str, code: str) -> str:
        """The helper a resident's code names (their subject, recorded as ``assisted_by``).

        :raises Refused: ``invalid`` ``helper_code_invalid`` for an unknown, expired or
            other municipality's code, or when the filer is not a resident.
        """
        row = (self._read(self._store.helper_code, _digest(code))
               if isinstance(principal, Resident) and len(code) <= 32 else None)
        if (row is None or row["municipality"] != municipality
                or self._clock() >= _utc(row["expires_at"])):
            raise Refused("invalid", "helper_code_invalid",
                          "支援員の番号が正しくないか、有効期限が切れています。支援員にご確認ください。",
                          "The helper's code is wrong or has expired. Please ask the helper.")
        return str(row["helper_subject"])

    def _events(self) -> LifeEventService:
        if self._life_events is None:
            raise not_configured("life_events")
        return self._life_events

    def _read(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except CounterStoreUnavailable as exc:
            raise _store_down() from exc

    def _write(self, method: Callable[..., Any], *args: Any) -> None:
        self._read(method, *args)

    def _municipality(self, staff: Caseworker, municipality: str) -> None:
        if not staff.can_act_for(municipality):
            raise Refused("forbidden", "wrong_municipality",
                          "この自治体の窓口業務は行えません。",
                          "You cannot work at this municipality's counter.")




def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _prepared_view(row: dict[str, Any]) -> PreparedFiling:
    request = dict(row["request"])
    title = request.pop("title")
    result = row["result"] or {}
    return PreparedFiling(
        id=row["id"], session_id=row["session_id"], kind=row["kind"], target=row["target"],
        title=title, data=request, prepared_at=_utc(row["prepared_at"]),
        confirmed=bool(result),
        result_id=result.get("application_id") or result.get("bundle_id"))


def _store_down() -> Refused:
    return Refused("unavailable", "counter_unavailable",
                   "ただいま窓口の受付を記録できません。しばらくしてからもう一度お試しください。",
                   "The counter cannot record sessions right now. Please try again shortly.")
