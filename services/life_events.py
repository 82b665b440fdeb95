"""Life events (ワンストップ): answer one questionnaire, file every procedure that follows.

The client side of ``LifeEventWorkflow`` (one per bundle; it starts each procedure's case as
a child and files the dependent ones when their upstream case reaches its outcome). This
module prefills the questionnaire from the sign-in and the municipal systems (the resident
registry and the public-funds account, through :mod:`adapters.models`' protocols), says
which procedures apply and why, checks each chosen procedure's own rules as a filing of it
would be checked, and starts the bundle once per household and event. No HTTP: refusals
are :class:`services.refusals.Refused`.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.models import (
    AdapterUnavailable,
    PersonQuery,
    PublicFundsAccount,
    PublicFundsAccounts,
    RegistryRecord,
    ResidentRegistry,
)
from forms.catalog import UnknownLifeEvent
from forms.dedupe import MissingHousehold, normalized
from forms.expressions import Bindings, ExpressionError, evaluate_with
from forms.filing import validate_application
from forms.lifeevent_packages import LifeEvent, validate_answers
from forms.lifeevents import LifeEventDefinition, OfferedProcedure
from forms.lifeevents_mapping import (
    bundle_material,
    events_binding,
    form_provenance,
    is_eligible,
    life_event_bindings,
    map_form,
    prefill_values,
    typed_stand_ins,
    upstream_case,
)
from forms.municipalities import Municipality
from forms.pointers import assign, is_missing, resolve
from identity.principals import AnyPrincipal, Caseworker, Resident
from services.cases import (
    CaseService,
    _material,
    applicant_claims,
    check_filing_assurance,
)
from services.catalogue import Lang, localize_schema
from services.queues import _quote, safe_id
from services.refusals import EngineBusy, InvalidData, Refused
from workflows import search_attributes as sa
from workflows.models import (
    TERMINAL,
    Applicant,
    BundleMember,
    BundleMemberStart,
    BundleView,
    BundleWithdrawal,
    CounterFiling,
    DocumentRef,
    Provenance,
    StartBundle,
)

__all__ = [
    "BundleStatus",
    "Ledger",
    "LedgerCase",
    "LedgerRow",
    "LifeEventService",
    "LifeEventSummary",
    "MemberStatus",
    "Offer",
    "Questionnaire",
]

#: The bundle's workflow and its messages (workflows/life_event.py, by name: the service
#: needs no import of the workflow module).
WORKFLOW = "LifeEventWorkflow"
VIEW_QUERY = "view"
WITHDRAW_ALL = "withdraw_all"

#: How long a query or update of a bundle waits for its worker.
BUNDLE_TIMEOUT_SECONDS = 30

#: Indexed per bundle for the 被災者台帳 (codes only, never personal values).
LIFE_EVENT_KEY = sa.LIFE_EVENT
EVENT_ID_KEY = sa.EVENT_ID

_JST = dt.timezone(dt.timedelta(hours=9))

RegistryState = Literal["verified", "unavailable", "not_found"]


# ---- output models ----------------------------------------------------------------------


class LifeEventSummary(BaseModel):
    id: str
    version: str
    title: dict[str, str]
    summary: dict[str, str]


class Questionnaire(BaseModel):
    """The shared questionnaire as a client renders it, prefilled."""

    life_event: str
    version: str
    municipality: str
    lang: Lang
    title: dict[str, str]
    summary: dict[str, str]
    form_schema: dict[str, Any]
    """Localized, ``$ref``-free JSON Schema (as :func:`services.catalogue.localize_schema`)."""
    answers: dict[str, Any]
    """The prefilled answers."""
    provenance: dict[str, Provenance]
    """Per prefilled JSON pointer: ``card``, ``registry`` or ``account``."""
    registry: RegistryState
    account: bool = False
    """Whether a public-funds account was found (and prefilled where asked)."""
    existing_bundle: str | None = None
    """The household's bundle of this life event, when it is known before any answer."""


class Offer(BaseModel):
    """One procedure the life event offers, as it applies to these answers."""

    procedure: str
    title: dict[str, str]
    eligible: bool
    reason: dict[str, str]
    """Why it applies (eligible) or why not."""
    selected: bool
    required: bool
    dependent: bool
    waits_for: dict[str, str] | None = None
    """For a dependent procedure: what it waits for (the upstream procedure's title)."""

    @property
    def after(self) -> dict[str, str] | None:
        return self.waits_for


class MemberStatus(BundleMember):
    """A bundle's member with its case as it is now (not only as last reported)."""

    stage_title: dict[str, str] | None = None
    may_withdraw: bool = False


class BundleStatus(BaseModel):
    bundle_id: str
    life_event: str
    life_event_version: str
    title: dict[str, str]
    municipality: str
    status: Literal["open", "closed"]
    submitted_at: dt.datetime
    applicant_name: str | None
    members: list[MemberStatus]
    answers: dict[str, Any] = Field(default_factory=dict)
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    mine: bool
    """False for a member of the household who did not file: they see the procedures'
    states, not the answers or the cases' contents."""
    may_withdraw_all: bool = False


class LedgerCase(BaseModel):
    application_id: str | None
    procedure: str
    title: dict[str, str]
    state: str
    status: str | None
    decision: dict[str, str] | None = None
    amount: int | None = None


class LedgerRow(BaseModel):
    bundle_id: str
    household_name: str | None
    address: str | None
    household_size: int | None
    grade: dict[str, str] | None
    grade_code: str | None
    status: Literal["open", "decided"]
    cases: list[LedgerCase]
    amount_total: int | None


class Ledger(BaseModel):
    """被災者台帳 of one disaster event: one row per household (bundle)."""

    municipality: str
    event: str
    rows: list[LedgerRow]
    grades: list[dict[str, Any]]
    """The grades found (``{"code", "title"}``), for a filter."""


_DECISIONS = {"completed": {"ja": "決定", "en": "Decided"},
              "rejected": {"ja": "却下", "en": "Rejected"},
              "withdrawn": {"ja": "取下げ", "en": "Withdrawn"}}


# ---- the service ------------------------------------------------------------------------


class _Context(BaseModel):
    """What is known of the resident before their answers: card, registry, account."""

    applicant: dict[str, Any]
    registry: RegistryState
    record: RegistryRecord | None = None
    account: PublicFundsAccount | None = None
    account_state: Literal["found", "none", "unavailable"] = "none"

    def household(self) -> dict[str, Any]:
        if self.record is None:
            return {"verified": False}
        return {"verified": True, "size": len(self.record.members),
                "members": [m.model_dump(mode="json", exclude={"person_id"})
                            for m in self.record.members],
                "deceased": [m.model_dump(mode="json", exclude={"person_id"})
                             for m in self.record.deceased]}

    def account_binding(self) -> dict[str, Any] | None:
        return self.account.model_dump(mode="json") if self.account is not None else None


class LifeEventService:
    """The life-event use cases of one installation."""

    def __init__(self, client: Client, cases: CaseService, *,
                 registry: ResidentRegistry | None, accounts: PublicFundsAccounts | None,
                 task_queue: str) -> None:
        self._client = client
        self._cases = cases
        self._registry = registry
        self._accounts = accounts
        self._task_queue = task_queue
        self.catalogue = cases.catalogue
        self.keys = cases.keys

    # ---- the catalogue side --------------------------------------------------------------

    def summaries(self, municipality: str) -> list[LifeEventSummary]:
        """The life events ``municipality`` offers (newest version of each)."""
        self.catalogue.municipality(municipality)
        return [LifeEventSummary(id=e.id, version=e.version,
                                 title=e.definition.title.model_dump(),
                                 summary=e.definition.summary.model_dump())
                for e in self.catalogue.catalog.life_events(municipality)]

    def life_event(self, life_event_id: str, municipality: str) -> LifeEvent:
        """:raises Refused: ``not_found`` for an unknown municipality or life event."""
        self.catalogue.municipality(municipality)
        try:
            return self.catalogue.catalog.life_event(life_event_id, municipality=municipality)
        except UnknownLifeEvent as exc:
            raise Refused("not_found", "unknown_life_event", "その手続きの案内はありません。",
                          f"There is no life event '{life_event_id}' in {municipality}."
                          ) from exc

    # ---- resident: questionnaire, offers, submission ------------------------------------

    async def questionnaire(self, principal: AnyPrincipal, life_event_id: str,
                            municipality: str, lang: Lang = "ja") -> Questionnaire:
        """The questionnaire, prefilled from the card's four facts, the registry and the
        public-funds account, each value with its source.

        :raises Refused: ``forbidden`` (not a resident), ``not_found``.
        """
        resident = _resident_only(principal)
        event = self.life_event(life_event_id, municipality)
        place = self.catalogue.municipality(municipality)
        context = await self._context(resident)
        answers, provenance = self._prefill(event.definition, context, place)
        existing = None
        if event.definition.event_field is None and not event.definition.dedupe.fields:
            existing = await self._existing_bundle(event.definition, municipality, resident,
                                                   context, {})
        return Questionnaire(
            life_event=event.id, version=event.version, municipality=municipality, lang=lang,
            title=event.definition.title.model_dump(),
            summary=event.definition.summary.model_dump(),
            form_schema=localize_schema(event, lang, place),  # type: ignore[arg-type]
            answers=answers, provenance=provenance, registry=context.registry,
            account=context.account is not None, existing_bundle=existing)

    async def offers(self, principal: AnyPrincipal, life_event_id: str, municipality: str,
                     answers: dict[str, Any]) -> list[Offer]:
        """Every procedure the life event offers (with the municipality's overlay), whether
        it applies to these answers and why.

        :raises InvalidData: the answers' field errors.
        :raises Refused: ``forbidden`` (not a resident), ``not_found``.
        """
        resident = _resident_only(principal)
        event = self.life_event(life_event_id, municipality)
        place = self.catalogue.municipality(municipality)
        _validated(event, place, answers)
        context = await self._context(resident)
        bindings = self._bindings(event.definition, context, place, answers)
        return self._offers(event.definition, bindings, municipality)

    def _offers(self, definition: LifeEventDefinition, bindings: Bindings,
                municipality: str) -> list[Offer]:
        result = []
        for offered in definition.procedures:
            eligible = is_eligible(offered, bindings)
            waits_for = None
            if offered.after is not None:
                upstream = self._title(offered.after.procedure, municipality)
                waits_for = {"ja": f"「{upstream['ja']}」の結果を待って、自動で申請されます。",
                             "en": f"Filed automatically once \u201c{upstream['en']}\u201d "
                                   "has its outcome."}
            result.append(Offer(
                procedure=offered.procedure, title=self._title(offered.procedure, municipality),
                eligible=eligible,
                reason=(offered.reason if eligible else offered.not_eligible).model_dump(),
                selected=eligible and (offered.selected or offered.required),
                required=eligible and offered.required, dependent=offered.after is not None,
                waits_for=waits_for))
        return result

    def _title(self, procedure_id: str, municipality: str) -> dict[str, str]:
        try:
            return self.catalogue.procedure(procedure_id, municipality=municipality
                                            ).definition.title.model_dump()
        except Refused:
            return {"ja": procedure_id, "en": procedure_id}

    async def submit(self, principal: AnyPrincipal, life_event_id: str, municipality: str,
                     answers: dict[str, Any], selected: Sequence[str], *, lang: Lang = "ja",
                     idempotency_key: str | None = None,
                     proxy: dict[str, Any] | None = None,
                     counter: CounterFiling | None = None) -> BundleView:
        """File the bundle: every selected procedure that applies (the required ones
        always), the dependent ones when their upstream case reaches its outcome.

        Each procedure is checked as its own filing would be (applicant kind, sign-in
        assurance, its eligibility rules and form on the mapped answers, its dedupe against
        the resident's existing cases). A retry with the same ``idempotency_key`` answers
        the bundle the first attempt started.

        :raises InvalidData: the answers' field errors.
        :raises Refused: ``forbidden`` (not a resident, a proxy filing, sign-in too weak for
            a procedure, household unknown), ``not_found``, ``invalid`` (a procedure not
            offered, a mapped form a procedure refuses), ``conflict`` (``bundle_exists``
            with ``details.existing_bundle``; ``duplicate_application`` naming the
            procedure), ``unavailable`` (``busy``: not admitted now, nothing filed; the
            same slots as a single filing, services/admission.py).
        :raises EngineBusy: the bundle's worker did not answer in time.
        """
        if proxy:
            raise Refused("forbidden", "no_proxy_life_events",
                          "くらしの出来事からの申請は、ご本人のみ行えます。代理申請は、手続きごとに"
                          "行ってください。",
                          "A life event is filed by the resident themselves; a proxy files "
                          "each procedure on its own.")
        resident = _resident_only(principal)
        event = self.life_event(life_event_id, municipality)
        place = self.catalogue.municipality(municipality)
        definition = event.definition
        _validated(event, place, answers)
        context = await self._context(resident)
        bindings = self._bindings(definition, context, place, answers)
        offers = {o.procedure: o for o in self._offers(definition, bindings, municipality)}
        chosen = set(selected) | {p for p, o in offers.items() if o.required}
        for name in sorted(chosen):
            offer = offers.get(name)
            if offer is None or not offer.eligible:
                raise Refused("invalid", "not_offered", "選べない手続きが含まれています。",
                              f"'{name}' is not offered for these answers.",
                              details={"procedure": name})
        key = self.keys.of(resident)
        bundle_id = self.keys.bundle_id(
            self._material(definition, municipality, resident, context, answers))
        request_key = (self.keys.request_key(key, idempotency_key)
                       if idempotency_key else None)
        # The household's bundle exists already: a retry gets it back; anyone else (the
        # spouse too) is pointed to it before any procedure is checked for them.
        if await self._exists(bundle_id):
            return await self._same_request(bundle_id, key, request_key)
        provenance = self._answer_provenance(definition, context, place, answers)
        claims = applicant_claims(resident)
        members: list[BundleMemberStart] = []
        for offered in definition.procedures:
            offer = offers[offered.procedure]
            members.append(await self._member(
                offered, offer, offered.procedure in chosen, resident, key, place, bindings,
                provenance, context, claims))
        household, account = self._household(definition, context, answers)
        start = StartBundle(
            bundle_id=bundle_id, definition=definition, municipality=municipality,
            applicant=Applicant(key=key, name=resident.name),
            household_key=self._household_key(context, resident),
            household=household, account=account,
            registry_person=context.record.person_id if context.record else None,
            events=events_binding(place), applicant_claims=_life_event_claims(resident),
            answers=answers, provenance=provenance, members=members,
            submitted_at=dt.datetime.now(dt.UTC), lang=lang, request_key=request_key,
            counter=counter)
        try:
            await self._start(start, definition, answers)
        except WorkflowAlreadyStartedError:
            return await self._same_request(bundle_id, key, request_key)  # a race lost
        return await self._view(bundle_id)

    async def _same_request(self, bundle_id: str, key: str,
                            request_key: str | None) -> BundleView:
        if request_key is not None:
            view = await self._view(bundle_id)
            if view.applicant_key == key and view.request_key == request_key:
                return view  # the same request again: answer as the first time
        raise _bundle_exists(bundle_id)

    async def _exists(self, workflow_id: str) -> bool:
        try:
            await self._client.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    async def _member(self, offered: OfferedProcedure, offer: Offer, chosen: bool,
                      resident: Resident, key: str, place: Municipality, bindings: Bindings,
                      provenance: dict[str, Provenance], context: _Context,
                      claims: dict[str, Any]) -> BundleMemberStart:
        base = {"procedure": offered.procedure, "title": offer.title,
                "reason": offer.reason}
        if not offer.eligible:
            return BundleMemberStart(state="not_eligible", **base)
        if not chosen:
            return BundleMemberStart(state="not_selected", **base)
        procedure = self.catalogue.procedure(offered.procedure, municipality=place.code)
        spec = procedure.definition
        title = offer.title
        if spec.applicant not in ("any", "resident"):
            raise Refused("forbidden", "wrong_applicant_kind",
                          f"「{title['ja']}」は住民の方の手続きではありません。",
                          f"\u201c{title['en']}\u201d is not a procedure for residents.",
                          details={"procedure": offered.procedure})
        try:
            check_filing_assurance(spec.assurance, resident)
        except Refused as exc:
            exc.details = {**(exc.details or {}), "procedure": offered.procedure}
            raise
        verified = context.record is not None
        if offered.after is not None:
            return BundleMemberStart(state="waiting", definition=spec, **base)
        try:
            data = map_form(offered, bindings)
        except ExpressionError as exc:
            raise Refused("invalid", "procedure_form_invalid",
                          f"「{title['ja']}」の申請内容を作れませんでした。回答を確かめてください。",
                          f"The answers do not make a filing of \u201c{title['en']}\u201d: "
                          "please check them.",
                          details={"procedure": offered.procedure, "reason": str(exc)}) from exc
        result = await asyncio.to_thread(validate_application, procedure, place, data,
                                         owner=key, applicant=claims)
        if not result.valid:
            ineligible = [e for e in result.errors if e.code == "ineligible"]
            first = (ineligible or result.errors)[0]
            raise Refused("invalid", "procedure_refused",
                          f"「{title['ja']}」: {first.message['ja']}",
                          f"\u201c{title['en']}\u201d: {first.message['en']}",
                          details={"procedure": offered.procedure,
                                   "errors": [e.model_dump() for e in result.errors]})
        await self._not_filed_already(spec, place.code, key, resident, data, title)
        return BundleMemberStart(
            state="filed", definition=spec, data=data,
            provenance=form_provenance(offered, provenance, household_verified=verified),
            **base)

    async def _not_filed_already(self, spec: Any, municipality: str, key: str,
                                 resident: Resident, data: dict[str, Any],
                                 title: dict[str, str]) -> None:
        """The procedure's own dedupe: the resident (or household) filed it already."""
        application_id = self.keys.application_id(
            _material(spec, municipality, key, resident, None, data))
        try:
            description = await self._client.get_workflow_handle(application_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return
            raise
        status = description.typed_search_attributes.get(sa.STATUS)
        if status in set(spec.dedupe.free_on):
            return
        raise Refused("conflict", "duplicate_application",
                      f"「{title['ja']}」は、すでに申請されています。この手続きを外して申請して"
                      "ください。",
                      f"\u201c{title['en']}\u201d has been filed already: untick it and submit "
                      "again.", details={"procedure": spec.id})

    async def _start(self, start: StartBundle, definition: LifeEventDefinition,
                     answers: dict[str, Any]) -> None:
        pairs = [SearchAttributePair(sa.MUNICIPALITY, start.municipality),
                 SearchAttributePair(sa.APPLICANT, start.applicant.key),
                 SearchAttributePair(LIFE_EVENT_KEY, definition.id)]
        event_id = (resolve(answers, definition.event_field, None)
                    if definition.event_field else None)
        if isinstance(event_id, str):
            pairs.append(SearchAttributePair(EVENT_ID_KEY, event_id))
        # Admitted as a single filing is, in the same slots (a disaster's surge is made of
        # bundles): refused ``busy`` before anything is started. The slot's budget runs
        # from here, not from the request (the registry's answer before it is not the
        # surge's doing); the start keeps the client's own deadline, since the bundle's
        # answer takes more calls than a filing's (a retry finds the started bundle).
        async with self._cases.admission.slot():
            await self._client.start_workflow(
                WORKFLOW, start, id=start.bundle_id, task_queue=self._task_queue,
                # One bundle per household and event, ever: the server refuses the second.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=TypedSearchAttributes(pairs))

    # ---- what is known before the answers -----------------------------------------------

    async def _context(self, resident: Resident) -> _Context:
        record, state = await self._find(resident)
        context = _Context(applicant=_life_event_claims(resident), registry=state,
                           record=record)
        if self._accounts is None or record is None:
            # Not configured, or nobody to look up: the resident types it (not verified).
            return context.model_copy(update={"account_state": "unavailable"})
        try:
            account = await self._accounts.account(record.person_id)
        except AdapterUnavailable:
            return context.model_copy(update={"account_state": "unavailable"})
        return context.model_copy(update={"account": account,
                                          "account_state": "found" if account else "none"})

    async def _find(self, resident: Resident) -> tuple[RegistryRecord | None, RegistryState]:
        if self._registry is None:
            return None, "unavailable"
        if not (resident.name and resident.birthdate and resident.address):
            return None, "not_found"  # the sign-in gave too little to look the person up
        query = PersonQuery(name=resident.name, birthdate=resident.birthdate,
                            address=resident.address, gender=resident.gender,
                            name_kana=resident.name_kana)
        try:
            record = await self._registry.find(query)
        except AdapterUnavailable:
            return None, "unavailable"
        return record, "verified" if record is not None else "not_found"

    def _household(self, definition: LifeEventDefinition, context: _Context,
                   answers: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """``household`` and ``account`` as expressions (here and in the engine, for a
        dependent's form) see them: from the municipal systems, or, where one could not be
        read, what the resident typed where it would have prefilled (not verified)."""
        household = context.household()
        if not household["verified"]:
            household.update(typed_stand_ins(definition, "registry", "household", answers))
        account = context.account_binding()
        if account is None and context.account_state == "unavailable":
            account = typed_stand_ins(definition, "account", "account", answers) or None
        return household, account

    def _bindings(self, definition: LifeEventDefinition, context: _Context,
                  place: Municipality, answers: Mapping[str, Any]) -> Bindings:
        household, account = self._household(definition, context, answers)
        return life_event_bindings(definition, answers=answers, applicant=context.applicant,
                                   household=household, account=account,
                                   events=events_binding(place), today=_today())

    def _sources(self, context: _Context) -> frozenset[str]:
        found = {"card"}
        if context.record is not None:
            found.add("registry")
        if context.account is not None:
            found.add("account")
        return frozenset(found)  # type: ignore[return-value]

    def _prefill(self, definition: LifeEventDefinition, context: _Context,
                 place: Municipality) -> tuple[dict[str, Any], dict[str, Provenance]]:
        bindings = life_event_bindings(
            definition, answers={}, applicant=context.applicant,
            household=context.household(), account=context.account_binding(),
            events=events_binding(place), today=_today())
        answers: dict[str, Any] = {}
        provenance: dict[str, Provenance] = {}
        # Card facts only where the issuer gave them: the rule reads a claim that is there.
        for pointer, (value, source) in prefill_values(
                definition, bindings, self._sources(context)).items():  # type: ignore[arg-type]
            assign(answers, pointer, value)
            provenance[pointer] = source
        return answers, provenance

    def _answer_provenance(self, definition: LifeEventDefinition, context: _Context,
                           place: Municipality, answers: Mapping[str, Any]
                           ) -> dict[str, Provenance]:
        """Where each prefillable answer came from, decided again here (never taken from
        the client): unchanged → its source, changed → ``declared``, typed because the
        system was down → ``unverified``."""
        prefilled, sources = self._prefill(definition, context, place)
        result: dict[str, Provenance] = {}
        for pointer, rule in definition.prefill.items():
            value = resolve(dict(answers), pointer)
            if is_missing(value):
                continue
            if pointer in sources:
                same = resolve(prefilled, pointer, None) == value
                result[pointer] = sources[pointer] if same else "declared"
            elif (rule.source == "registry" and context.registry == "unavailable") or (
                    rule.source == "account" and context.account_state == "unavailable"):
                result[pointer] = "unverified"
            else:
                result[pointer] = "declared"
        return result

    def _material(self, definition: LifeEventDefinition, municipality: str,
                  resident: Resident, context: _Context, answers: Mapping[str, Any]) -> str:
        try:
            return bundle_material(
                definition, municipality, answers, applicant_key=self.keys.of(resident),
                household_id=context.record.household_id if context.record else None,
                address=resident.address)
        except MissingHousehold as exc:
            raise Refused("forbidden", "household_unknown",
                          "世帯が確認できませんでした。住所が確認できる方法（マイナンバーカード）で"
                          "ログインしてください。",
                          "Your household could not be confirmed: sign in with a method that "
                          "confirms your address (the My Number card).") from exc

    def _household_key(self, context: _Context, resident: Resident) -> str | None:
        if context.record is not None:
            return self.keys.household_key(context.record.household_id)
        if resident.address:
            return self.keys.household_key(f"address|{normalized(resident.address)}")
        return None

    async def _existing_bundle(self, definition: LifeEventDefinition, municipality: str,
                               resident: Resident, context: _Context,
                               answers: Mapping[str, Any]) -> str | None:
        try:
            bundle_id = self.keys.bundle_id(
                self._material(definition, municipality, resident, context, answers))
        except Refused:
            return None
        return bundle_id if await self._exists(bundle_id) else None

    # ---- reading ------------------------------------------------------------------------

    async def _view(self, bundle_id: str) -> BundleView:
        try:
            async with asyncio.timeout(BUNDLE_TIMEOUT_SECONDS):
                return await self._client.get_workflow_handle(bundle_id).query(
                    VIEW_QUERY, result_type=BundleView)
        except TimeoutError as exc:
            raise EngineBusy(f"the bundle did not answer within {BUNDLE_TIMEOUT_SECONDS} s"
                             ) from exc
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise _bundle_not_found() from exc
            raise

    async def _visible(self, principal: AnyPrincipal, bundle_id: str
                       ) -> tuple[BundleView, bool]:
        """The bundle and whether the caller filed it (or is staff); not_found otherwise."""
        if not safe_id(bundle_id) or not bundle_id.startswith("lev-"):
            raise _bundle_not_found()
        view = await self._view(bundle_id)
        if isinstance(principal, Caseworker):
            if principal.can_act_for(view.municipality):
                return view, True
            raise _bundle_not_found()
        if not isinstance(principal, Resident):
            raise _bundle_not_found()
        if view.applicant_key == self.keys.of(principal):
            return view, True
        if view.household_key is not None:
            record, state = await self._find(principal)
            context = _Context(applicant={}, registry=state, record=record)
            if self._household_key(context, principal) == view.household_key:
                return view, False
        raise _bundle_not_found()  # do not reveal that someone else's bundle exists

    async def status(self, principal: AnyPrincipal, bundle_id: str) -> BundleStatus:
        """Every procedure of the bundle with its case as it is now (queried together).

        Visible to the applicant and to caseworkers of the municipality; a member of the
        same household sees the procedures' states only.

        :raises Refused: ``not_found``.
        :raises EngineBusy: as :meth:`CaseService.act`.
        """
        view, full = await self._visible(principal, bundle_id)
        return await self._status(principal, view, full)

    async def _status(self, principal: AnyPrincipal, view: BundleView,
                      full: bool) -> BundleStatus:
        async def current(member: BundleMember) -> MemberStatus:
            out = MemberStatus(**member.model_dump())
            if not full or member.application_id is None:
                if not full:
                    out.documents, out.computed = [], {}
                return out
            try:
                details = await self._cases.details(principal, member.application_id)
            except Refused:
                return out
            case = details.view
            out.status, out.stage = case.status, case.stage
            out.documents = [DocumentRef.model_validate(d.model_dump())
                             for d in case.documents] if case.documents else out.documents
            out.computed = dict(getattr(case, "computed", {}) or out.computed)
            stage = self._cases.pinned(case).definition.stage(case.stage)
            out.stage_title = stage.title.model_dump() if stage is not None else None
            out.may_withdraw = "withdraw" in details.actions
            return out

        members = list(await asyncio.gather(*(current(m) for m in view.members)))
        mine = full and not isinstance(principal, Caseworker)
        if mine:
            for member in members:
                if member.state == "waiting":
                    member.may_withdraw = True
        else:
            for member in members:
                member.may_withdraw = False
        return BundleStatus(
            bundle_id=view.bundle_id, life_event=view.life_event,
            life_event_version=view.life_event_version, title=view.title,
            municipality=view.municipality, status=view.status,
            submitted_at=view.submitted_at,
            applicant_name=view.applicant_name if full else None, members=members,
            answers=view.answers if full else {}, provenance=view.provenance if full else {},
            mine=mine, may_withdraw_all=mine and any(m.may_withdraw for m in members))

    async def mine(self, principal: AnyPrincipal) -> list[BundleView]:
        """The resident's own bundles, newest first."""
        if not isinstance(principal, Resident):
            return []
        key = self.keys.of(principal)
        query = (f"{self._bundles()} AND {sa.APPLICANT.name} = {_quote(key)}")
        ids = [wf.id async for wf in self._client.list_workflows(query, limit=100)]
        views = await asyncio.gather(*(self._view(i) for i in ids), return_exceptions=True)
        found = [v for v in views if isinstance(v, BundleView) and v.applicant_key == key]
        return sorted(found, key=lambda v: v.submitted_at, reverse=True)

    def _bundles(self) -> str:
        # This installation's bundles: those its workers serve (a Query needs a worker).
        return f"WorkflowType = '{WORKFLOW}' AND TaskQueue = {_quote(self._task_queue)}"

    # ---- withdrawing --------------------------------------------------------------------

    async def withdraw(self, principal: AnyPrincipal, bundle_id: str,
                       procedure: str | None) -> BundleStatus:
        """Withdraw one procedure (its case's own withdrawal, or a waiting one before it is
        filed) or all of them (the bundle stops filing, then each open case is withdrawn).

        :raises Refused: ``not_found``; ``forbidden`` for anyone but the applicant;
            ``conflict`` for a procedure that cannot be withdrawn now.
        """
        view, full = await self._visible(principal, bundle_id)
        if not full or isinstance(principal, Caseworker):
            raise Refused("forbidden", "applicant_only",
                          "取り下げは、申請したご本人のみ行えます。",
                          "Only the resident who filed can withdraw.")
        actor = self._cases.actor(principal)
        if procedure is not None:
            member = next((m for m in view.members if m.procedure == procedure), None)
            if member is None:
                raise Refused("not_found", "not_a_member", "その手続きはこの申請にありません。",
                              f"'{procedure}' is not part of this bundle.")
            if member.state == "waiting":
                await self._update(bundle_id, BundleWithdrawal(actor=actor, procedure=procedure))
            elif member.state == "filed" and member.application_id is not None:
                await self._cases.act(principal, member.application_id, "withdraw", None, None)
            else:
                raise Refused("conflict", "not_withdrawable",
                              "この手続きは取り下げられません。",
                              "This procedure cannot be withdrawn now.")
        else:
            await self._update(bundle_id, BundleWithdrawal(actor=actor))
            for member in view.members:
                if member.state != "filed" or member.application_id is None or (
                        member.status in TERMINAL):
                    continue
                try:
                    await self._cases.act(principal, member.application_id, "withdraw",
                                          None, None)
                except Refused as exc:
                    if exc.kind != "conflict":
                        raise  # a case already closed stays as it is
        return await self.status(principal, bundle_id)

    async def _update(self, bundle_id: str, request: BundleWithdrawal) -> None:
        try:
            async with asyncio.timeout(BUNDLE_TIMEOUT_SECONDS):
                await self._client.get_workflow_handle(bundle_id).execute_update(
                    WITHDRAW_ALL, request)
        except TimeoutError as exc:
            raise EngineBusy("the bundle's worker did not take the withdrawal") from exc
        except WorkflowUpdateFailedError as exc:
            raise Refused("conflict", "not_withdrawable", "取り下げできませんでした。",
                          "The bundle refused the withdrawal.") from exc

    # ---- caseworkers --------------------------------------------------------------------

    async def bundle_of_case(self, caseworker: AnyPrincipal,
                             application_id: str) -> BundleStatus | None:
        """The bundle a case was filed in (None for a case filed on its own).

        :raises Refused: ``not_found`` for a case the caller may not see.
        """
        details = await self._cases.details(caseworker, application_id)
        bundle_id = details.view.bundle_id
        if bundle_id is None:
            return None
        view, full = await self._visible(caseworker, bundle_id)
        return await self._status(caseworker, view, full)

    async def ledger(self, caseworker: AnyPrincipal, municipality: str, event_id: str,
                     filters: Mapping[str, str] | None = None) -> Ledger:
        """被災者台帳: one row per household (bundle) of the disaster event, with its cases,
        grade, decisions and amounts; ``filters``: ``grade`` (a code), ``status``
        (``open`` / ``decided``).

        :raises Refused: ``forbidden`` (not a caseworker of the municipality), ``not_found``.
        """
        if not isinstance(caseworker, Caseworker) or not caseworker.can_act_for(municipality):
            raise Refused("forbidden", "not_your_municipality",
                          "この自治体の台帳は見られません。",
                          "You do not act for this municipality.")
        place = self.catalogue.municipality(municipality)
        if place.disaster_event(event_id) is None:
            raise Refused("not_found", "no_such_event", "その災害は見つかりません。",
                          "No such disaster event.")
        query = (f"{self._bundles()} AND {sa.MUNICIPALITY.name} = {_quote(municipality)} "
                 f"AND {EVENT_ID_KEY.name} = {_quote(event_id)}")
        ids = [wf.id async for wf in self._client.list_workflows(query, limit=2000)]
        views = await asyncio.gather(*(self._view(i) for i in ids))
        rows = [self._row(view, place) for view in views]
        grades: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row.grade_code and row.grade:
                grades.setdefault(row.grade_code, {"code": row.grade_code, "title": row.grade})
        chosen = dict(filters or {})
        if chosen.get("grade"):
            rows = [r for r in rows if r.grade_code == chosen["grade"]]
        if chosen.get("status") in ("open", "decided"):
            rows = [r for r in rows if r.status == chosen["status"]]
        rows.sort(key=lambda r: (r.address or "", r.bundle_id))
        return Ledger(municipality=municipality, event=event_id, rows=rows,
                      grades=list(grades.values()))

    def _row(self, view: BundleView, place: Municipality) -> LedgerRow:
        try:
            event = self.catalogue.catalog.life_event(view.life_event, view.life_event_version,
                                                      municipality=place.code)
            definition: LifeEventDefinition | None = event.definition
        except UnknownLifeEvent:
            definition = None
        ledger = definition.ledger if definition is not None else None
        members = {m.procedure: m for m in view.members}

        def value(text: str | None, member: BundleMember | None = None) -> Any:
            if text is None or definition is None:
                return None
            case = upstream_case({"status": member.status, "computed": member.computed,
                                  "documents": [d.model_dump() for d in member.documents]}
                                 if member else {})
            bindings = life_event_bindings(
                definition, answers=view.answers, applicant={}, household={}, account=None,
                events=events_binding(place), today=_today(), case=case)
            try:
                return evaluate_with(text, bindings)
            except ExpressionError:
                return None

        address = value(ledger.address) if ledger else None
        size = value(ledger.household_size) if ledger else None
        grade_raw = (value(ledger.grade.value, members.get(ledger.grade.procedure))
                     if ledger and ledger.grade else None)
        grade, grade_code = _grade(grade_raw)
        amounts: dict[str, int] = {}
        for spec in (ledger.amounts if ledger else []):
            member = members.get(spec.procedure)
            amount = value(spec.value, member) if member is not None else None
            if isinstance(amount, int) and not isinstance(amount, bool):
                amounts[spec.procedure] = amounts.get(spec.procedure, 0) + amount
        cases = [LedgerCase(application_id=m.application_id, procedure=m.procedure,
                            title=m.title, state=m.state, status=m.status,
                            decision=_DECISIONS.get(m.status or ""),
                            amount=amounts.get(m.procedure))
                 for m in view.members if m.state in ("filed", "waiting", "not_filed")]
        decided = all(m.status in TERMINAL for m in view.members if m.state == "filed")
        return LedgerRow(
            bundle_id=view.bundle_id, household_name=view.applicant_name,
            address=address if isinstance(address, str) else None,
            household_size=size if isinstance(size, int) and not isinstance(size, bool)
            else None,
            grade=grade, grade_code=grade_code, status="decided" if decided else "open",
            cases=cases, amount_total=sum(amounts.values()) if amounts else None)

    async def ledger_csv(self, caseworker: AnyPrincipal, municipality: str, event_id: str,
                         filters: Mapping[str, str] | None = None) -> bytes:
        """The ledger as CSV for the prefecture: UTF-8 with BOM, a Japanese header row."""
        ledger = await self.ledger(caseworker, municipality, event_id, filters)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["世帯主（申請者）", "住所", "世帯人数", "被害の程度", "手続き",
                         "状況", "支給額合計（円）"])
        for row in ledger.rows:
            cases = "、".join(_case_cell(c) for c in row.cases)
            writer.writerow([spreadsheet_safe(cell) for cell in (
                row.household_name or "", row.address or "",
                row.household_size if row.household_size is not None else "",
                (row.grade or {}).get("ja", ""), cases,
                "決定済み" if row.status == "decided" else "処理中",
                row.amount_total if row.amount_total is not None else "")])
        return out.getvalue().encode("utf-8-sig")


# ---- helpers ----------------------------------------------------------------------------


def _resident_only(principal: AnyPrincipal) -> Resident:
    if not isinstance(principal, Resident):
        raise Refused("forbidden", "residents_only",
                      "くらしの出来事からの申請は、住民の方ご本人が行えます。",
                      "Life events are filed by residents themselves.")
    return principal


def _validated(event: LifeEvent, place: Municipality, answers: object) -> None:
    result = validate_answers(event, place, answers)
    if not result.valid:
        raise InvalidData(result.errors)


def _life_event_claims(resident: Resident) -> dict[str, Any]:
    """``applicant`` of a life event: the eligibility claims and the rest of the card's
    four facts (name, sex), each only where the issuer gave it."""
    claims = applicant_claims(resident)
    for name in ("name", "gender"):
        if getattr(resident, name, None):
            claims[name] = getattr(resident, name)
    return claims


def _today() -> dt.date:
    return dt.datetime.now(_JST).date()


def _grade(raw: Any) -> tuple[dict[str, str] | None, str | None]:
    if isinstance(raw, dict) and isinstance(raw.get("code"), str):
        return ({"ja": str(raw.get("ja") or raw["code"]), "en": str(raw.get("en") or raw["code"])},
                raw["code"])
    if isinstance(raw, str):
        return {"ja": raw, "en": raw}, raw
    return None, None


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet will not run: a text starting with ``= + - @`` (or a tab or
    carriage return) is a formula to Excel, and names and addresses are typed by residents;
    such a text is prefixed with ``'`` (shown as text). Numbers stay numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _case_cell(case: LedgerCase) -> str:
    state = (case.decision or {}).get("ja") or case.status or case.state
    amount = f"（{case.amount}円）" if case.amount is not None else ""
    return f"{case.title.get('ja', case.procedure)}:{state}{amount}"


def _bundle_not_found() -> Refused:
    return Refused("not_found", "not_found", "申請が見つかりません。", "Bundle not found.")


def _bundle_exists(bundle_id: str) -> Refused:
    return Refused("conflict", "bundle_exists",
                   "この出来事の申請は、世帯ですでに出されています。申請の状況をご覧ください。",
                   "Your household has filed for this already: see its status.",
                   details={"existing_bundle": bundle_id})

