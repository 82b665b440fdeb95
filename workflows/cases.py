"""The client side of cases: file, read, act, list — business rules, no HTTP.

The portal turns the errors raised here (all ``CaseError``) into HTTP answers in one
place; a CLI or a batch job could use the same service.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import jsonpointer
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

from forms.catalog import Catalog, UnknownProcedure
from forms.dedupe import dedupe_material
from forms.filing import AttachmentLookup, validate_application
from forms.municipalities import Municipality
from forms.packages import Procedure
from forms.validation import FieldError, validate_data
from identity.assurance import check_assurance
from identity.principals import Business, Caseworker, Resident
from identity.proxy import parse_proxy_filing
from workflows import search_attributes as sa
from workflows.campaign import CampaignInput, CampaignView, CampaignWorkflow, campaign_id
from workflows.models import (
    DEFAULT_TASK_QUEUE,
    ActionRequest,
    Actor,
    ApplicationView,
    StartApplication,
    initial_view,
)
from workflows.models import Applicant as ApplicantModel
from workflows.procedure import ProcedureWorkflow
from workflows.rules import available_actions

OPEN_STATUSES = ("in_progress", "awaiting_correction", "awaiting_applicant", "issuing")
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
Principal = Resident | Business | Caseworker


#: How long a caseworker's or resident's action waits for the case's worker to take it.
ACTION_TIMEOUT_SECONDS = 30


class EngineBusy(Exception):
    """The workflow service or the case's workers did not answer in time: nothing is lost,
    the request may be tried again (an action may still be applied, so look first)."""


class CaseError(Exception):
    """A refusal the caller should see; ``status`` is its HTTP status."""

    def __init__(self, code: str, status: int, ja: str, en: str, details: Any = None) -> None:
        super().__init__(en)
        self.code = code
        self.status = status
        self.message = {"ja": ja, "en": en}
        self.details = details


class InvalidData(CaseError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("invalid_data", 422, "入力内容に誤りがあります。",
                         "Some answers need to be corrected.",
                         details=[e.model_dump() for e in errors])


def _not_found() -> CaseError:
    return CaseError("not_found", 404, "申請が見つかりません。", "Application not found.")


class CaseSummary(BaseModel):
    """A row of a list or queue: search attributes only, no personal data."""

    id: str
    procedure: str | None
    municipality: str | None
    stage: str | None
    status: str | None
    assignee: str | None
    due_at: datetime | None
    started_at: datetime | None
    closed_at: datetime | None = None


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


class CaseFacts(BaseModel, frozen=True):
    """What a case was filed as: enough to authorize a caller and pin the procedure.

    These never change while the case's workflow exists (the Update handlers touch none of
    them), so a copy taken from any view of the case is never stale; ``act`` uses it to skip
    a Query of the whole, encrypted view before each Update (issue #10).
    """

    procedure: str
    procedure_version: str
    municipality: str
    applicant_key: str

    @classmethod
    def of(cls, view: ApplicationView) -> CaseFacts:
        return cls(procedure=view.procedure, procedure_version=view.procedure_version,
                   municipality=view.municipality, applicant_key=view.applicant_key)


class _FactsCache:
    """A bounded LRU of :class:`CaseFacts` by application id, each copy kept ``ttl`` seconds.

    Why a time limit on facts that never change: the workflow id is a hash of procedure,
    municipality and applicant (never the version), so once a finished case is deleted after
    the namespace's retention (a day at least) the same id may name a new filing under a
    newer procedure version. An hour-old copy cannot be from such an earlier case.
    """

    def __init__(self, size: int, ttl: float, clock: Callable[[], float]) -> None:
        self._entries: OrderedDict[str, tuple[float, CaseFacts]] = OrderedDict()
        self._size, self._ttl, self._clock = size, ttl, clock

    def get(self, application_id: str) -> CaseFacts | None:
        entry = self._entries.get(application_id)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[application_id]
            return None
        self._entries.move_to_end(application_id)
        return entry[1]

    def remember(self, view: ApplicationView) -> None:
        if self._size <= 0:
            return
        self._entries[view.application_id] = (self._clock() + self._ttl, CaseFacts.of(view))
        self._entries.move_to_end(view.application_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, application_id: str) -> None:
        self._entries.pop(application_id, None)

    def __len__(self) -> int:
        return len(self._entries)


class CaseService:
    def __init__(
        self,
        client: Client,
        *,
        catalog: Catalog,
        municipalities: Mapping[str, Municipality],
        id_secret: bytes,
        task_queue: str,
        attachments: AttachmentLookup | None = None,
        facts_cache_size: int = 20_000,
        facts_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._facts = _FactsCache(facts_cache_size, facts_ttl, clock)
        self._attachments = attachments
        # The default installation keeps plain ids; others sharing a namespace are prefixed.
        self._campaign_scope = "" if task_queue == DEFAULT_TASK_QUEUE else f"{task_queue}."
        self._catalog = catalog
        self._municipalities = municipalities
        self._secret = id_secret
        self._task_queue = task_queue

    # ---- identities -----------------------------------------------------------------

    def applicant_key(self, applicant: Resident | Business) -> str:
        """An opaque, stable key for a resident or business: safe in search attributes."""
        return self._key(applicant.issuer, applicant.subject)

    def _key(self, issuer: str, subject: str) -> str:
        return self._mac(f"applicant|{issuer}|{subject}")[:32]

    def actor(self, principal: Principal) -> Actor:
        if not isinstance(principal, Caseworker):
            return Actor(kind=principal.kind, subject=principal.subject,
                         applicant_key=self.applicant_key(principal), name=principal.name)
        return Actor(kind="caseworker", subject=principal.subject, name=principal.name,
                     municipalities=sorted(principal.municipalities),
                     roles=sorted(principal.roles))

    def _mac(self, text: str) -> str:
        digest = hmac.new(self._secret, text.encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode().rstrip("=").lower()

    # ---- filing ---------------------------------------------------------------------

    def procedures(self) -> list[Procedure]:
        """What residents can file now: the newest version of each procedure (cases filed
        under an older one keep it, see :meth:`procedure`)."""
        return self._catalog.latest()

    def all_versions(self) -> list[Procedure]:
        """Every loaded version: open cases may be pinned to any of them."""
        return self._catalog.procedures()

    def procedure(self, procedure_id: str, version: str | None = None,
                  municipality: str | None = None) -> Procedure:
        """The procedure as in force (for ``municipality``: after its overlay)."""
        try:
            return self._catalog.get(procedure_id, version, municipality)
        except UnknownProcedure as exc:
            raise CaseError("unknown_procedure", 404, "その手続きはありません。",
                            f"There is no procedure '{procedure_id}'.") from exc

    def municipalities(self) -> list[Municipality]:
        """The municipalities this installation serves, by code."""
        return [self._municipalities[code] for code in sorted(self._municipalities)]

    def municipality(self, code: str) -> Municipality:
        found = self._municipalities.get(code)
        if found is None:
            raise CaseError("unknown_municipality", 404, "その自治体はありません。",
                            f"There is no municipality '{code}'.")
        return found

    async def submit(
        self, principal: Principal, procedure_id: str, municipality_code: str,
        data: dict[str, Any], *, lang: Literal["ja", "en"] = "ja",
        idempotency_key: str | None = None, proxy: dict[str, Any] | None = None,
    ) -> ApplicationView:
        """File an application. A retry carrying the same ``idempotency_key`` (the HTTP
        ``Idempotency-Key``) gets the application the first attempt created, not a 409."""
        if isinstance(principal, Caseworker):
            raise CaseError("applicants_only", 403, "申請は住民・事業者の方のみ行えます。",
                            "Only residents and businesses can file applications.")
        municipality = self.municipality(municipality_code)
        procedure = self.procedure(procedure_id, municipality=municipality.code)
        definition = procedure.definition
        if definition.applicant not in ("any", principal.kind):
            who = {"resident": ("住民の方", "residents"), "business": ("事業者", "businesses")}
            ja, en = who[definition.applicant]
            raise CaseError("wrong_applicant_kind", 403,
                            f"この手続きは{ja}向けです。{ja}としてログインしてください。",
                            f"This procedure is for {en}; sign in as one.")
        check_assurance(definition.assurance, principal)
        represented = parse_proxy_filing(proxy).model_dump(mode="json") if proxy else None
        key = self.applicant_key(principal)
        result = validate_application(procedure, municipality, data,
                                      attachments=self._attachments, owner=key)
        if not result.valid:
            raise InvalidData(result.errors)
        campaign = await self._open_campaign_for(procedure, municipality.code, data)
        application_id = "app-" + self._mac(
            dedupe_material(definition, municipality.code, key, data))[:26]
        start = StartApplication(
            application_id=application_id, definition=definition,
            municipality=municipality.code,
            applicant=ApplicantModel(key=key, name=principal.name),
            data=data, submitted_at=datetime.now(UTC), lang=lang, campaign_id=campaign,
            request_key=self._mac(f"request|{key}|{idempotency_key}") if idempotency_key else None,
            proxy=represented,
        )
        try:
            await self._client.start_workflow(
                ProcedureWorkflow.run, start, id=application_id, task_queue=self._task_queue,
                # One case per dedupe key, ever: the server refuses the second, race-free.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=TypedSearchAttributes([
                    SearchAttributePair(sa.MUNICIPALITY, municipality.code),
                    SearchAttributePair(sa.PROCEDURE, definition.id),
                    SearchAttributePair(sa.STAGE, definition.initial_stage),
                    SearchAttributePair(sa.STATUS, "in_progress"),
                    SearchAttributePair(sa.APPLICANT, key),
                ]),
            )
        except WorkflowAlreadyStartedError as exc:
            if start.request_key is not None:
                existing = await self._handle(application_id).query(ProcedureWorkflow.view)
                self._facts.remember(existing)
                if existing.request_key == start.request_key:
                    return existing  # the same request again: answer as the first time
            raise CaseError("duplicate_application", 409,
                            "同じ内容の申請がすでにあります。",
                            "You have already applied for this.",
                            details={"existing_application": application_id}) from exc
        view = initial_view(start, start.submitted_at)
        self._facts.remember(view)
        return view

    async def _open_campaign_for(self, procedure: Procedure, municipality: str,
                                 data: dict[str, Any]) -> str | None:
        """The open campaign a filing belongs to; a campaign procedure outside one is refused."""
        rule = procedure.definition.campaign
        if rule is None:
            return None
        period = str(jsonpointer.resolve_pointer(data, rule.period_field, ""))
        view = await self.campaign(campaign_id(municipality, procedure.definition.id, period,
                                               scope=self._campaign_scope))
        if view is None or view.status != "open":
            raise CaseError("campaign_not_open", 409,
                            "いまは受付期間ではありません。市区町村からのお知らせを確認してください。",
                            "This procedure is not open for filing now. "
                            "Check your municipality's notice for the filing period.",
                            details={"period": period})
        return view.campaign_id

    # ---- campaigns ------------------------------------------------------------------

    async def open_campaign(
        self, caseworker: Caseworker, procedure_id: str, municipality: str, period: str,
        opens_at: datetime, closes_at: datetime, targets: list[tuple[str, str]],
    ) -> CampaignView:
        """Start a campaign; ``targets`` are (issuer, subject) pairs of the residents who must
        file, as the municipality's resident register links them to their eID."""
        if "admin" not in caseworker.roles or not caseworker.can_act_for(municipality):
            raise CaseError("admin_only", 403, "受付期間の設定は管理者のみ行えます。",
                            "Only an administrator of this municipality can open a campaign.")
        procedure = self.procedure(procedure_id)
        self.municipality(municipality)
        if procedure.definition.campaign is None:
            raise CaseError("not_a_campaign", 422, "この手続きは受付期間を設けません。",
                            "This procedure has no filing campaigns.")
        if not (opens_at.tzinfo and closes_at.tzinfo) or closes_at <= opens_at:
            raise CaseError("invalid_period", 422, "受付期間の開始と終了を正しく入力してください。",
                            "The campaign must close after it opens (times with a time zone).")
        identifier = campaign_id(municipality, procedure_id, period, scope=self._campaign_scope)
        start = CampaignInput(
            campaign_id=identifier, municipality=municipality, procedure=procedure_id,
            procedure_version=procedure.definition.version, period=period, opens_at=opens_at,
            closes_at=closes_at,
            remind_before_days=procedure.definition.campaign.remind_before_days,
            targets=sorted({self._key(issuer, subject) for issuer, subject in targets}),
        )
        try:
            handle = await self._client.start_workflow(
                CampaignWorkflow.run, start, id=identifier, task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes([
                    SearchAttributePair(sa.MUNICIPALITY, municipality),
                    SearchAttributePair(sa.PROCEDURE, procedure_id),
                ]),
            )
        except WorkflowAlreadyStartedError as exc:
            raise CaseError("duplicate_campaign", 409, "この期間の受付はすでに設定されています。",
                            "A campaign for this period already exists.",
                            details={"existing_campaign": identifier}) from exc
        return await handle.query(CampaignWorkflow.view)

    async def campaign(self, identifier: str) -> CampaignView | None:
        if not _SAFE_VALUE.match(identifier):
            return None
        try:
            handle = self._client.get_workflow_handle_for(CampaignWorkflow.run, identifier)
            return await handle.query(CampaignWorkflow.view)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                return None
            raise

    async def campaign_for_caseworker(self, caseworker: Caseworker,
                                      identifier: str) -> CampaignView:
        view = await self.campaign(identifier)
        if view is None or not caseworker.can_act_for(view.municipality):
            raise CaseError("not_found", 404, "受付期間が見つかりません。", "Campaign not found.")
        return view

    # ---- reading --------------------------------------------------------------------

    def details_of(self, principal: Principal, view: ApplicationView) -> CaseDetails:
        """Details of a view the caller already holds (no query of the case)."""
        self._facts.remember(view)
        return CaseDetails(view=view, actions=available_actions(
            self._pinned(view).definition, view, self.actor(principal)))

    async def details(self, principal: Principal, application_id: str) -> CaseDetails:
        view = await self._visible_view(principal, application_id)
        definition = self._pinned(view).definition
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

    async def _visible_view(
        self, principal: Principal, application_id: str
    ) -> ApplicationView:
        if not _SAFE_VALUE.match(application_id):
            raise _not_found()
        try:
            view = await self._handle(application_id).query(ProcedureWorkflow.view)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise _not_found() from exc
            raise
        self._facts.remember(view)
        if not self._may_see(principal, view):
            raise _not_found()  # do not reveal that someone else's case exists
        return view

    def _pinned(self, view: ApplicationView | CaseFacts) -> Procedure:
        """The procedure version (and municipal overlay) the case was filed under."""
        return self.procedure(view.procedure, view.procedure_version, view.municipality)

    def _may_see(self, principal: Principal, view: ApplicationView | CaseFacts) -> bool:
        if not isinstance(principal, Caseworker):
            return view.applicant_key == self.applicant_key(principal)
        return principal.can_act_for(view.municipality)

    def _handle(self, application_id: str) -> WorkflowHandle[Any, Any]:
        return self._client.get_workflow_handle(application_id)

    async def list_cases(
        self, principal: Principal, *, procedure: str | None = None,
        stage: str | None = None, assignee: str | None = None, open_only: bool = False,
        limit: int = 200,
    ) -> list[CaseSummary]:
        clauses = ["WorkflowType = 'ProcedureWorkflow'"]
        if not isinstance(principal, Caseworker):
            clauses.append(_eq(sa.APPLICANT.name, self.applicant_key(principal)))
        else:
            codes = sorted(principal.municipalities)
            clauses.append(f"{sa.MUNICIPALITY.name} IN ({', '.join(_quote(c) for c in codes)})")
        for attr, value in ((sa.PROCEDURE, procedure), (sa.STAGE, stage), (sa.ASSIGNEE, assignee)):
            if value:
                clauses.append(_eq(attr.name, value))
        if open_only:
            # Not ExecutionStatus: a finished case stays running through its retention.
            statuses = ", ".join(_quote(s) for s in OPEN_STATUSES)
            clauses.append(f"{sa.STATUS.name} IN ({statuses})")
        # No ORDER BY: SQL visibility (dev server, PostgreSQL) does not support it.
        query = " AND ".join(clauses)
        rows: list[CaseSummary] = []
        async for wf in self._client.list_workflows(query, limit=limit):
            attrs = wf.typed_search_attributes
            rows.append(CaseSummary(
                id=wf.id, procedure=attrs.get(sa.PROCEDURE),
                municipality=attrs.get(sa.MUNICIPALITY), stage=attrs.get(sa.STAGE),
                status=attrs.get(sa.STATUS), assignee=attrs.get(sa.ASSIGNEE),
                due_at=attrs.get(sa.DUE_AT), started_at=wf.start_time, closed_at=wf.close_time,
            ))
        return sorted(rows, key=lambda r: r.started_at or datetime.min.replace(tzinfo=UTC),
                      reverse=True)

    # ---- acting ---------------------------------------------------------------------

    async def act(
        self, principal: Principal, application_id: str, action: str,
        comment: str | None, data: dict[str, Any] | None,
    ) -> CaseDetails:
        """Take ``action`` on the case; the workflow's Update validator decides whether it may
        be taken now (stage, status, role, four-eyes) and answers with the new view.

        :raises CaseError: ``not_found`` (404) for a case the caller may not see,
            ``invalid_data`` (422), the workflow's refusal, or ``case_closed`` (409).
        """
        request = ActionRequest(action=action, actor=self.actor(principal), comment=comment,
                                data=data)
        facts = self._facts.get(application_id) if _SAFE_VALUE.match(application_id) else None
        if facts is not None and not self._may_see(principal, facts):
            raise _not_found()  # do not reveal that someone else's case exists
        if facts is not None and self._input_valid_in_any_stage(facts, action, data):
            # Known case and clean input: no Query before the Update. A stage the action
            # does not belong to is refused by the Update validator (rules.check_action).
            procedure = self._pinned(facts)
        else:
            # Unknown case, a correction, or input to check against the current stage: the
            # view decides (and gives exactly the answers this path always gave).
            view = await self._visible_view(principal, application_id)
            procedure = self._pinned(view)
            self._validate_input(procedure, view, action, data)
        try:
            # An Update waits until a worker accepts it: with the cases workers down it would
            # wait for ever. Give up and say so (the action may still be applied later).
            async with asyncio.timeout(ACTION_TIMEOUT_SECONDS):
                view = await self._handle(application_id).execute_update(
                    ProcedureWorkflow.act, request)
        except (TimeoutError, RPCTimeoutOrCancelledError) as exc:  # the SDK turns our
            # cancellation into its own error
            raise EngineBusy(f"no worker took the action within {ACTION_TIMEOUT_SECONDS} s") \
                from exc
        except WorkflowUpdateFailedError as exc:
            raise _refusal(exc) from exc
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                if facts is not None:
                    # Closed, or gone altogether (404 then, as a Query would have said).
                    self._facts.forget(application_id)
                    await self._visible_view(principal, application_id)
                raise CaseError("case_closed", 409, "この申請の手続きは終了しています。",
                                "This application is already closed.") from exc
            raise
        self._facts.remember(view)
        return CaseDetails(view=view, actions=available_actions(
            procedure.definition, view, self.actor(principal)))

    def _input_valid_in_any_stage(self, facts: CaseFacts, action: str,
                                  data: dict[str, Any] | None) -> bool:
        """Whether ``data`` passes ``action``'s input schema without knowing the stage.

        True only when every stage's action of that id takes the same schema (or none) and
        the data passes it, so the answer cannot differ from checking against the current
        stage. False means: ask the case (a correction's schema depends on its target; bad
        input may still deserve the current stage's refusal rather than field errors).
        """
        if action == "submit_correction":
            return False
        try:
            procedure = self._pinned(facts)
        except CaseError:
            return False
        schemas = {a.input_schema for st in procedure.definition.stages for a in st.actions
                   if a.id == action}
        if len(schemas) > 1:
            return False
        schema = next(iter(schemas), None)
        if schema is None or data is None:
            return True
        return validate_data(procedure.step_schemas[schema], data,
                             messages=procedure.messages).valid

    def _validate_input(self, procedure: Procedure, view: ApplicationView, action: str,
                        data: dict[str, Any] | None) -> None:
        if action == "submit_correction" and data is not None and view.correction_target is None:
            result = validate_application(procedure, self.municipality(view.municipality), data,
                                          attachments=self._attachments, owner=view.applicant_key)
            if not result.valid:
                raise InvalidData(result.errors)
            return
        if action == "submit_correction":
            # A correction of an applicant step (e.g. the 実績報告) follows that step's schema.
            spec = next((a for st in procedure.definition.stages for a in st.actions
                         if a.id == view.correction_target), None)
        else:
            stage = procedure.definition.stage(view.stage)
            spec = stage.action(action) if stage else None
        if spec is not None and spec.input_schema and data is not None:
            result = validate_data(procedure.step_schemas[spec.input_schema], data,
                                   messages=procedure.messages)
            if not result.valid:
                raise InvalidData(result.errors)


def _refusal(exc: WorkflowUpdateFailedError) -> CaseError:
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.details:
        refusal = cause.details[0]
        if isinstance(refusal, dict) and "kind" in refusal:
            status = {"forbidden": 403, "conflict": 409, "invalid": 422}[refusal["kind"]]
            return CaseError(refusal["code"], status, refusal["message"]["ja"],
                             refusal["message"]["en"])
    return CaseError("refused", 409, "この操作は受け付けられませんでした。",
                     "The action was refused.")


def _quote(value: str) -> str:
    if not _SAFE_VALUE.match(value):
        raise CaseError("invalid_filter", 422, "検索条件が正しくありません。",
                        f"Invalid filter value {value!r}.")
    return f"'{value}'"


def _eq(name: str, value: str) -> str:
    return f"{name} = {_quote(value)}"
