"""Cases: file, read, list and act — the use cases of residents and caseworkers, no HTTP.

Each case is a ``ProcedureWorkflow``; this module is its client side. Refusals are
:class:`services.refusals.Refused` (the workflow's own, from its Update validator, are
turned into the same vocabulary here).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from forms.catalog import Catalog
from forms.dedupe import DedupeParty, MissingHousehold, dedupe_material
from forms.filing import AttachmentLookup, validate_application
from forms.municipalities import Municipality
from forms.packages import Procedure
from forms.validation import validate_data
from identity.assurance import AssuranceTooLow, check_assurance
from identity.counter import DIGITAL_SUPPORT_ROLE
from identity.principals import AnyPrincipal, Business, Caseworker, Resident
from identity.proxy import ProxyFilingInvalid, parse_proxy_filing
from services.admission import DEFAULT_IN_FLIGHT, Admission
from services.bundle_dedupe import bundle_cases_for
from services.campaigns import CampaignService
from services.catalogue import CatalogueService
from services.departments import scope_of
from services.facts import CaseFacts, FactsCache
from services.keys import ApplicantKeys
from services.linking import RegistryLinks
from services.queues import CaseFilter, CaseSummary, list_cases, safe_id
from services.refusals import EngineBusy, InvalidData, Refused
from workflows import search_attributes as sa
from workflows.models import (
    ActionRequest,
    Actor,
    ApplicationView,
    CounterFiling,
    RevocationRequest,
    StartApplication,
    initial_view,
)
from workflows.models import Applicant as ApplicantModel
from workflows.procedure import ProcedureWorkflow
from workflows.rules import APPLICANT_ACTIONS, available_actions

#: How long a caseworker's or resident's action waits for the case's worker to take it.
ACTION_TIMEOUT_SECONDS = 30

#: HTTP-era refusals from workers of an older release (rolling upgrade): status -> kind.
_KIND_OF_STATUS = {403: "forbidden", 409: "conflict", 422: "invalid"}


def case_not_found() -> Refused:
    return Refused("not_found", "not_found", "申請が見つかりません。", "Application not found.")


class WaitingOn(BaseModel):
    """A side effect the case is retrying (a caseworker sees why a case does not move)."""

    activity: str
    attempt: int
    reason: str | None  # the last failure's class and message (our errors carry no PII)
    next_attempt_at: datetime | None


class CaseDetails(BaseModel):
    view: ApplicationView
    actions: list[str]
    waiting_on: list[WaitingOn] = []


class CaseService:
    """The case use cases of one installation (its client, catalogue and id secret)."""

    def __init__(
        self,
        client: Client,
        *,
        catalog: Catalog,
        municipalities: Mapping[str, Municipality] | None = None,
        id_secret: bytes,
        task_queue: str,
        attachments: AttachmentLookup | None = None,
        facts_cache_size: int = 20_000,
        facts_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        admission: Admission | None = None,
    ) -> None:
        self._client = client
        #: The bound on filings this process starts at once; life-event bundles share it
        #: (services/life_events.py): both are starts on the same workflow service.
        self.admission = admission or Admission(DEFAULT_IN_FLIGHT)
        self._facts = FactsCache(facts_cache_size, facts_ttl, clock)
        self._attachments = attachments
        self._task_queue = task_queue
        self.catalogue = CatalogueService(catalog, municipalities)
        self.keys = ApplicantKeys(id_secret)
        #: Counter filings linked to a card sign-in (the registry is set by the assembly).
        self.links = RegistryLinks(self.keys, None)
        self.campaigns = CampaignService(client, catalogue=self.catalogue, keys=self.keys,
                                         task_queue=task_queue)

    @property
    def client(self) -> Client:
        """The workflow service client (for use cases beside cases, e.g. life events)."""
        return self._client

    @property
    def task_queue(self) -> str:
        return self._task_queue

    # ---- identities -----------------------------------------------------------------

    def applicant_key(self, applicant: Resident | Business) -> str:
        """An opaque, stable key for a resident or business: safe in search attributes."""
        return self.keys.of(applicant)

    def actor(self, principal: AnyPrincipal) -> Actor:
        if not isinstance(principal, Caseworker):
            return Actor(kind=principal.kind, subject=principal.subject,
                         applicant_key=self.applicant_key(principal), name=principal.name)
        return Actor(kind="caseworker", subject=principal.subject, name=principal.name,
                     municipalities=sorted(principal.municipalities),
                     roles=sorted(principal.roles))

    # ---- filing ---------------------------------------------------------------------

    async def submit(
        self, principal: AnyPrincipal, procedure_id: str, municipality_code: str,
        data: dict[str, Any], *, lang: Literal["ja", "en"] = "ja",
        idempotency_key: str | None = None, proxy: dict[str, Any] | None = None,
        counter: CounterFiling | None = None, assisted_by: str | None = None,
    ) -> ApplicationView:
        """File an application. A retry carrying the same ``idempotency_key`` (the HTTP
        ``Idempotency-Key``) gets the application the first attempt created, not a
        ``conflict``.

        :raises Refused: ``forbidden`` (caseworker, wrong kind of applicant, sign-in too
            weak), ``not_found`` (procedure, municipality), ``invalid`` (field errors,
            proxy details), ``conflict`` (duplicate, campaign not open), ``unavailable``
            (``busy``: not admitted now, nothing filed; see services/admission.py).
        """
        began = time.monotonic()
        if isinstance(principal, Caseworker):
            raise Refused("forbidden", "applicants_only", "申請は住民・事業者の方のみ行えます。",
                          "Only residents and businesses can file applications.")
        municipality = self.catalogue.municipality(municipality_code)
        procedure = self.catalogue.procedure(procedure_id, municipality=municipality.code)
        definition = procedure.definition
        if definition.applicant not in ("any", principal.kind):
            who = {"resident": ("住民の方", "residents"), "business": ("事業者", "businesses")}
            ja, en = who[definition.applicant]
            raise Refused("forbidden", "wrong_applicant_kind",
                          f"この手続きは{ja}向けです。{ja}としてログインしてください。",
                          f"This procedure is for {en}; sign in as one.")
        check_filing_assurance(definition.assurance, principal)
        represented = _proxy(proxy)
        key = self.applicant_key(principal)
        # Validation of a large form takes CPU: off the event loop, so others are served.
        result = await asyncio.to_thread(validate_application, procedure, municipality, data,
                                         attachments=self._attachments, owner=key,
                                         applicant=applicant_claims(principal))
        if not result.valid:
            raise InvalidData(result.errors)
        campaign = await self.campaigns.open_for(procedure, municipality.code, data)
        base_id = self.keys.application_id(
            _material(definition, municipality.code, key, principal, represented, data))
        start = StartApplication(
            application_id=base_id, definition=definition,
            municipality=municipality.code,
            applicant=ApplicantModel(key=key, name=principal.name),
            data=data, submitted_at=datetime.now(UTC), lang=lang, campaign_id=campaign,
            request_key=self.keys.request_key(key, idempotency_key) if idempotency_key
            else None,
            proxy=represented, counter=counter, assisted_by=assisted_by,
        )
        freeing = frozenset(definition.dedupe.free_on)
        await self._not_in_a_bundle(procedure_id, municipality.code, data, freeing, key)
        for generation in range(1, MAX_FILINGS_PER_KEY + 1):
            # A key freed by a withdrawn (or rejected) case is filed again under the next
            # id of the same key: each id is still started at most once, so two refilings
            # racing for it are told apart by the server, as the first filing is.
            application_id = base_id if generation == 1 else f"{base_id}-{generation}"
            start = start.model_copy(update={"application_id": application_id})
            try:
                await self._start(start, definition, municipality.code, key, began)
            except WorkflowAlreadyStartedError as exc:
                existing = await self._existing(application_id)
                if start.request_key is not None and existing.applicant == key:
                    view = await self._handle(application_id).query(ProcedureWorkflow.view)
                    self._facts.remember(view)
                    if view.request_key == start.request_key:
                        return view  # the same request again: answer as the first time
                if existing.status in freeing:
                    continue
                raise _duplicate(application_id if existing.applicant == key else None) from exc
            break
        else:
            raise Refused("conflict", "too_many_filings",
                          "この申請は、これ以上受け付けられません。窓口にお問い合わせください。",
                          "This cannot be filed again; please contact the municipality.")
        view = initial_view(start, start.submitted_at)
        self._facts.remember(view)
        return view

    async def _not_in_a_bundle(self, procedure_id: str, municipality: str,
                               data: dict[str, Any], freeing: frozenset[str],
                               key: str) -> None:
        """:raises Refused: ``conflict`` when a life-event bundle filed the same thing."""
        for case_id in bundle_cases_for(self.catalogue.catalog, self.keys, procedure_id,
                                        municipality, data):
            try:
                existing = await self._existing(case_id)
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    continue
                raise
            if existing.status not in freeing:
                raise _duplicate(case_id if existing.applicant == key else None)

    async def _start(self, start: StartApplication, definition: Any, municipality: str,
                     key: str, began: float) -> None:
        async with self.admission.slot(began) as left:  # a surge is refused: nothing started
            await self._start_workflow(start, definition, municipality, key, left)

    async def _start_workflow(self, start: StartApplication, definition: Any,
                              municipality: str, key: str, deadline: timedelta) -> None:
        await self._client.start_workflow(
            ProcedureWorkflow.run, start, id=start.application_id, task_queue=self._task_queue,
            rpc_timeout=deadline,
            # One case per id, ever: the server refuses the second, race-free.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(sa.MUNICIPALITY, municipality),
                SearchAttributePair(sa.PROCEDURE, definition.id),
                SearchAttributePair(sa.STAGE, definition.initial_stage),
                SearchAttributePair(sa.STATUS, "in_progress"),
                SearchAttributePair(sa.APPLICANT, key),
                # The workflow indexes only what changes after its start (it counts the
                # due date as indexed already): a new case needs its due date from here.
                SearchAttributePair(sa.DUE_AT, start.submitted_at + timedelta(
                    days=definition.processing_period.days)),
            ]),
        )

    async def _existing(self, application_id: str) -> _Existing:
        """Who filed the case under this id, and where it stands (its search attributes)."""
        description = await self._handle(application_id).describe()
        attributes = description.typed_search_attributes
        return _Existing(applicant=attributes.get(sa.APPLICANT),
                         status=attributes.get(sa.STATUS))

    # ---- reading --------------------------------------------------------------------

    def details_of(self, principal: AnyPrincipal, view: ApplicationView) -> CaseDetails:
        """Details of a view the caller already holds (no query of the case)."""
        self._facts.remember(view)
        return CaseDetails(view=view, actions=available_actions(
            self.pinned(view).definition, view, self.actor(principal)))

    async def details(self, principal: AnyPrincipal, application_id: str) -> CaseDetails:
        """The case as the caller may see it, with the actions they may take now.

        :raises Refused: ``not_found`` for a case the caller may not see (we do not reveal
            that someone else's case exists).
        """
        view = await self._visible_view(principal, application_id)
        definition = self.pinned(view).definition
        waiting = (await self._waiting_on(application_id)
                   if isinstance(principal, Caseworker) else [])
        return CaseDetails(view=view, waiting_on=waiting,
                           actions=available_actions(definition, view, self.actor(principal)))

    async def _waiting_on(self, application_id: str) -> list[WaitingOn]:
        """Activities being retried, with the reason of their last failure."""
        # The raw call: no search attribute decoding, which some servers answer oddly.
        description = await self._client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=self._client.namespace,
                execution=WorkflowExecution(workflow_id=application_id)))
        waiting = []
        for pending in description.pending_activities:
            reason = None
            if pending.HasField("last_failure"):
                error = await self._client.data_converter.decode_failure(pending.last_failure)
                cause = error.__cause__ or error
                reason = f"{type(cause).__name__}: {cause}"[:300]
            next_at = (pending.next_attempt_schedule_time.ToDatetime(tzinfo=UTC)
                       if pending.HasField("next_attempt_schedule_time") else None)
            waiting.append(WaitingOn(activity=pending.activity_type.name,
                                     attempt=pending.attempt, reason=reason,
                                     next_attempt_at=next_at))
        return waiting

    async def _visible_view(self, principal: AnyPrincipal,
                            application_id: str) -> ApplicationView:
        if not safe_id(application_id):
            raise case_not_found()
        try:
            view = await self._handle(application_id).query(ProcedureWorkflow.view)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise case_not_found() from exc
            raise
        self._facts.remember(view)
        if not self._may_see(principal, view) and not (
                isinstance(principal, Resident)
                and view.applicant_key == await self.links.linked(principal)):
            raise case_not_found()  # do not reveal that someone else's case exists
        return view

    def pinned(self, view: ApplicationView | CaseFacts) -> Procedure:
        """The procedure version (and municipal overlay) the case was filed under."""
        return self.catalogue.procedure(view.procedure, view.procedure_version,
                                        view.municipality)

    def _may_see(self, principal: AnyPrincipal, view: ApplicationView | CaseFacts) -> bool:
        if not isinstance(principal, Caseworker):
            return view.applicant_key == self.applicant_key(principal)
        # A digital-support helper (#19) helps residents sign in and file; no case work.
        if not principal.can_act_for(view.municipality) or not (
                principal.roles - {DIGITAL_SUPPORT_ROLE}):
            return False
        if principal.departments:  # a department's caseworker sees its procedures' cases
            scope = dict(scope_of(self.catalogue, [view.municipality], principal.departments))
            return view.procedure in scope.get(view.municipality, ())
        return True

    def _handle(self, application_id: str) -> WorkflowHandle[Any, Any]:
        return self._client.get_workflow_handle(application_id)

    async def list_cases(
        self, principal: AnyPrincipal, *, procedure: str | None = None,
        stage: str | None = None, assignee: str | None = None, open_only: bool = False,
        limit: int = 200, department: str | None = None,
    ) -> list[CaseSummary]:
        """A resident's or business's own cases, or a caseworker's municipalities' cases
        (``department``: its queue only; a department's caseworker sees only their own)."""
        if isinstance(principal, Caseworker):
            codes = tuple(sorted(principal.municipalities))
            wanted = set(principal.departments) if principal.departments else None
            if department is not None:
                wanted = {department} & wanted if wanted is not None else {department}
            whose = CaseFilter(municipalities=codes, departments=scope_of(
                self.catalogue, codes, wanted) if wanted is not None else ())
            if wanted is not None and not any(p for _, p in whose.departments):
                return []
        else:
            whose = CaseFilter(applicant_key=self.applicant_key(principal))
        selection = whose.model_copy(update={"procedure": procedure, "stage": stage,
                                             "assignee": assignee, "open_only": open_only})
        found = await list_cases(self._client, selection, limit)
        linked = await self.links.linked(principal)
        if linked is None or linked == selection.applicant_key:
            return found
        # Cases filed for this resident at a counter (services/linking.py), newest first.
        found += await list_cases(
            self._client, selection.model_copy(update={"applicant_key": linked}), limit)
        earliest = datetime.min.replace(tzinfo=UTC)
        found.sort(key=lambda c: c.started_at or earliest, reverse=True)
        return found[:limit]

    # ---- acting ---------------------------------------------------------------------

    async def act(
        self, principal: AnyPrincipal, application_id: str, action: str,
        comment: str | None, data: dict[str, Any] | None,
    ) -> CaseDetails:
        """Take ``action`` on the case; the workflow's Update validator decides whether it may
        be taken now (stage, status, role, four-eyes) and answers with the new view.

        :raises Refused: ``not_found`` for a case the caller may not see, ``invalid`` (field
            errors, data for an action that takes none), the workflow's refusal, or
            ``conflict`` (``case_closed``).
        :raises EngineBusy: no worker took the action in time (it may still be applied).
        """
        request = ActionRequest(action=action, actor=self.actor(principal), comment=comment,
                                data=data)
        facts = self._facts.get(application_id) if safe_id(application_id) else None
        if facts is not None and not self._may_see(principal, facts):
            raise case_not_found()  # do not reveal that someone else's case exists
        if facts is not None and await asyncio.to_thread(
                self._input_valid_in_any_stage, facts, action, data):
            # Known case and clean input: no Query before the Update. A stage the action
            # does not belong to is refused by the Update validator (rules.check_action).
            procedure = self.pinned(facts)
        else:
            # Unknown case, a correction, or input to check against the current stage: the
            # view decides (and gives exactly the answers this path always gave).
            view = await self._visible_view(principal, application_id)
            procedure = self.pinned(view)
            await asyncio.to_thread(self._validate_input, procedure, view, action, data)
        view = await self._update(principal, application_id, facts, ProcedureWorkflow.act,
                                  request)
        self._facts.remember(view)
        return CaseDetails(view=view, actions=available_actions(
            procedure.definition, view, self.actor(principal)))

    async def revoke_document(self, caseworker: Caseworker, application_id: str,
                              document_id: str, reason: str | None,
                              confirm: bool) -> ApplicationView:
        """Ask for the revocation of a document the case issued, or confirm another
        caseworker's request (the workflow's validator applies the role and four eyes).

        :raises Refused: ``not_found`` for a case the caller may not see, the workflow's
            refusal (``forbidden``, ``conflict``, ``invalid``).
        :raises EngineBusy: as :meth:`act`.
        """
        view = await self._visible_view(caseworker, application_id)
        request = RevocationRequest(document_id=document_id, actor=self.actor(caseworker),
                                    reason=reason, confirm=confirm)
        return await self._update(caseworker, view.application_id, CaseFacts.of(view),
                                  ProcedureWorkflow.revoke, request)

    async def _update(self, principal: AnyPrincipal, application_id: str,
                      facts: CaseFacts | None, update: Any, request: Any) -> ApplicationView:
        """Send an Update and answer its view, with every way it can fail said in our words."""
        try:
            # An Update waits until a worker accepts it: with the cases workers down it would
            # wait for ever. Give up and say so (the action may still be applied later).
            async with asyncio.timeout(ACTION_TIMEOUT_SECONDS):
                view = await self._handle(application_id).execute_update(update, request)
        except (TimeoutError, RPCTimeoutOrCancelledError) as exc:  # the SDK turns our
            # cancellation into its own error
            raise EngineBusy(f"no worker took the action within {ACTION_TIMEOUT_SECONDS} s") \
                from exc
        except WorkflowUpdateFailedError as exc:
            raise _refusal(exc) from exc
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                if facts is not None:
                    # Closed, or gone altogether (not found then, as a Query would have said).
                    self._facts.forget(application_id)
                    await self._visible_view(principal, application_id)
                raise Refused("conflict", "case_closed", "この申請の手続きは終了しています。",
                              "This application is already closed.") from exc
            raise
        self._facts.remember(view)
        return view

    def _input_valid_in_any_stage(self, facts: CaseFacts, action: str,
                                  data: dict[str, Any] | None) -> bool:
        """Whether ``data`` passes ``action``'s input schema without knowing the stage.

        True only when every stage's action of that id takes the same schema (or none, and
        no data is sent) and the data passes it, so the answer cannot differ from checking
        against the current stage. False means: ask the case (a correction's schema depends
        on its target; bad input may still deserve the current stage's refusal rather than
        field errors).
        """
        if action in APPLICANT_ACTIONS:
            return action == "withdraw" and data is None
        try:
            procedure = self.pinned(facts)
        except Refused:
            return False
        schemas = {a.input_schema for st in procedure.definition.stages for a in st.actions
                   if a.id == action}
        if len(schemas) > 1:
            return False
        schema = next(iter(schemas), None)
        if data is None:
            return True
        if schema is None:
            return False
        return validate_data(procedure.step_schemas[schema], data,
                             messages=procedure.messages).valid

    def _validate_input(self, procedure: Procedure, view: ApplicationView, action: str,
                        data: dict[str, Any] | None) -> None:
        if data is None:
            return
        if action == "submit_correction" and view.correction_target is None:
            result = validate_application(
                procedure, self.catalogue.municipality(view.municipality), data,
                attachments=self._attachments, owner=view.applicant_key)
            if not result.valid:
                raise InvalidData(result.errors)
            return
        if action == "submit_correction":
            # A correction of an applicant step (e.g. the 実績報告) follows that step's schema.
            spec = next((a for st in procedure.definition.stages for a in st.actions
                         if a.id == view.correction_target), None)
        elif action == "withdraw":
            spec = None
        else:
            stage = procedure.definition.stage(view.stage)
            spec = stage.action(action) if stage else None
            if spec is None:
                return  # not an action of this stage: the workflow refuses it as such
        if spec is None or not spec.input_schema:
            # Data the action has no schema for would be stored unchecked in the case.
            raise Refused("invalid", "data_not_accepted",
                          "この操作には入力項目がありません。",
                          "This action takes no input data.")
        result = validate_data(procedure.step_schemas[spec.input_schema], data,
                               messages=procedure.messages)
        if not result.valid:
            raise InvalidData(result.errors)


#: How often one dedupe key may be filed again after its cases were withdrawn or rejected.
MAX_FILINGS_PER_KEY = 20


def applicant_claims(principal: Resident | Business) -> dict[str, Any]:
    """What eligibility rules read of the verified sign-in, as ``applicant``."""
    claims: dict[str, Any] = {"kind": principal.kind}
    birthdate = getattr(principal, "birthdate", None)
    if birthdate is not None:
        claims["birthdate"] = birthdate.isoformat()
    for name in ("address", "name_kana"):
        if getattr(principal, name, None):
            claims[name] = getattr(principal, name)
    return claims


class _Existing(BaseModel):
    applicant: str | None
    status: str | None


def _material(definition: Any, municipality: str, key: str, principal: Resident | Business,
              represented: dict[str, Any] | None, data: dict[str, Any]) -> str:
    """The dedupe material from the verified sign-in (and a proxy's declaration)."""
    is_resident = isinstance(principal, Resident)
    party = DedupeParty(
        applicant_key=key,
        address=principal.address,
        reading=(principal.name_kana or principal.name) if is_resident else None,
        birthdate=principal.birthdate.isoformat()
        if is_resident and principal.birthdate else None,
        represented=represented,
    )
    try:
        return dedupe_material(definition, municipality, party, data)
    except MissingHousehold as exc:
        raise Refused("forbidden", "household_unknown",
                      "この手続きは世帯ごとの申請です。住所が確認できる方法（マイナンバーカード）で"
                      "ログインしてください。",
                      "This procedure is filed once per household: sign in with a method that "
                      "confirms your address (the My Number card).") from exc


def _duplicate(existing_id: str | None) -> Refused:
    """The filing is a second one; name the first only to the one who filed it (to
    anyone else the id would tell who has filed, and open nothing anyway)."""
    if existing_id is not None:
        return Refused("conflict", "duplicate_application", "同じ内容の申請がすでにあります。",
                       "You have already applied for this.",
                       details={"existing_application": existing_id})
    return Refused("conflict", "duplicate_application",
                   "同じ内容の申請が、ほかの方からすでに出されています（同じ世帯・同じ対象）。"
                   "ご不明な点は窓口にお問い合わせください。",
                   "The same application has already been filed by someone else (the same "
                   "household or subject). Please contact the municipality if unsure.")


def check_filing_assurance(required: Any, principal: Resident | Business) -> None:
    """:raises Refused: ``forbidden`` ``assurance_too_low`` naming the accepted ways."""
    try:
        check_assurance(required, principal)
    except AssuranceTooLow as exc:
        message = exc.public_message
        raise Refused("forbidden", "assurance_too_low", message["ja"], message["en"],
                      {"accepted": list(exc.required)}) from exc


def _proxy(proxy: dict[str, Any] | None) -> dict[str, Any] | None:
    if not proxy:
        return None
    try:
        return parse_proxy_filing(proxy).model_dump(mode="json")
    except ProxyFilingInvalid as exc:
        raise Refused("invalid", "invalid_proxy", "代理人の入力内容に誤りがあります。",
                      "The proxy details need to be corrected.",
                      [e.model_dump() for e in exc.errors]) from exc


def _refusal(exc: WorkflowUpdateFailedError) -> Refused:
    """The workflow validator's refusal in our vocabulary."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.details:
        refusal = cause.details[0]
        if isinstance(refusal, dict) and "code" in refusal:
            kind = refusal.get("kind") or _KIND_OF_STATUS.get(refusal.get("status"), "conflict")
            return Refused(kind, refusal["code"], refusal["message"]["ja"],
                           refusal["message"]["en"])
    return Refused("conflict", "refused", "この操作は受け付けられませんでした。",
                   "The action was refused.")
