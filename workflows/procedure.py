"""``ProcedureWorkflow``: one generic workflow that interprets a pinned procedure definition.

A case is one workflow execution; its id is the application id (the dedupe key), its
event history the audit trail. Human steps are Updates (validated by ``workflows.rules``),
reads are Queries, side effects (notices, documents) run as activities from the main
loop, and the legal clock (標準処理期間) is a durable timer paused during a correction.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    import jsonpointer

    from forms.compute import compute_action, included_values, route_of, uses_expressions
    from forms.definition import (
        ActionDefinition,
        ProcedureDefinition,
        Route,
        StageDefinition,
    )
    from records.milestones import (
        CaseFacts,
        Milestone,
        MilestoneBatch,
        channel_of,
        disaster_event_of,
        milestones_of,
    )
    from workflows import search_attributes as sa
    from workflows.models import (
        TERMINAL,
        ActionRequest,
        Amendment,
        ApplicationView,
        CampaignFiling,
        CaseReport,
        DocumentRef,
        IssueDocumentInput,
        NoticeChannelsInput,
        NoticeInput,
        PurgeInput,
        Revocation,
        RevocationRequest,
        RevokeDocumentInput,
        StartApplication,
        Status,
        TimelineEntry,
    )
    from workflows.rules import Refusal, check_action, check_revocation

NOTICE_ACTIVITY = "deliver_notice"
NOTICE_CHANNELS_ACTIVITY = "notice_channels"
PURGE_ACTIVITY = "purge_case"
ISSUE_ACTIVITY = "issue_document"
REVOKE_ACTIVITY = "revoke_document"
MILESTONES_ACTIVITY = "record_milestones"
DOCUMENTS_QUEUE_SUFFIX = "-documents"
NOTICES_QUEUE_SUFFIX = "-notices"

_ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)


def document_number(application_id: str, document_type: str, sequence: int) -> str:
    """A stable document id: the same case step always yields the same number."""
    digest = hashlib.sha256(f"{application_id}:{document_type}:{sequence}".encode()).hexdigest()
    return "DOC-" + digest[:20].upper()


@workflow.defn
class ProcedureWorkflow:
    @workflow.init
    def __init__(self, start: StartApplication) -> None:
        # Validators read this state, and an update may arrive before run() starts.
        self._start = start
        self._definition: ProcedureDefinition = start.definition
        self._status: Status = "in_progress"
        self._stage = start.definition.initial_stage
        self._assignee: str | None = None
        self._data: dict[str, Any] = dict(start.data)
        self._step_data: dict[str, dict[str, Any]] = {}
        self._computed: dict[str, Any] = {}
        self._actors: dict[str, str] = {}
        self._documents: list[DocumentRef] = []
        self._timeline: list[TimelineEntry] = []
        self._clock_used = timedelta(0)
        # The server's clock, not the portal's: deadlines must follow workflow time.
        self._submitted_at = workflow.now()
        self._clock_started: datetime | None = self._submitted_at
        self._correction_due: datetime | None = None
        self._correction_comment: str | None = None
        self._reminded = False
        self._escalated = False
        self._correction_target: str | None = None
        self._stage_entered = self._submitted_at
        self._stage_reminders_sent: set[int] = set()
        self._final_outcome: Status | None = None  # where "issuing" ends
        self._purged = False
        self._pending_notices: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self._pending_documents: list[str] = []
        self._notice_seq = 0
        self._deliveries: set[asyncio.Task[None]] = set()
        self._revocations: list[Revocation] = []
        self._provenance = dict(start.provenance)
        self._amendments = 0
        self._rearm = False  # an amendment moved the case: the timers are recomputed
        self._reported: Status | None = None  # the last status told to the bundle
        self._milestones_sent: set[str] = set()  # keys already in the statistics read model
        # What the portal set at start; see _sync_search_attributes.
        self._indexed: tuple[Any, ...] = (self._stage, self._status, None, self._due_at())
        self._record("submitted", actor="applicant")
        # The 申請控え first: effects drain documents before notices, so the receipt
        # notice goes out when the copy can be downloaded.
        self._pending_documents.extend(start.definition.issue_on_submit)
        self._notify("submitted")

    # ---- main loop: timers and side effects -------------------------------------------

    @workflow.run
    async def run(self, start: StartApplication) -> ApplicationView:
        if start.campaign_id is not None:
            await workflow.get_external_workflow_handle(start.campaign_id).signal(
                "filed", CampaignFiling(applicant_key=start.applicant.key,
                                        application_id=start.application_id))
        while True:
            await self._drain_effects()
            await self._report_status()
            await self._record_milestones()
            self._sync_search_attributes()
            if self._status in TERMINAL:
                break
            try:
                # _rearm is set only by an amendment (cases of a bundle): cases without
                # one wait exactly as before.
                await workflow.wait_condition(
                    lambda: bool(self._pending_notices or self._pending_documents)
                    or self._status in TERMINAL or self._rearm,
                    timeout=self._next_timer_delay(),
                )
                self._rearm = False
            except TimeoutError:
                self._on_timer()
            self._sync_search_attributes()
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._deliveries)
        await self._retain_then_purge()
        return self._view()

    async def _retain_then_purge(self) -> None:
        """Keep the finished case readable for its retention period, then forget it."""
        rule = self._definition.retention
        if rule is None or not workflow.patched("retention-v1"):
            return
        await workflow.sleep(timedelta(days=rule.days))
        await workflow.execute_activity(
            PURGE_ACTIVITY, PurgeInput(application_id=self._start.application_id),
            result_type=int, start_to_close_timeout=timedelta(minutes=5),
            retry_policy=_ACTIVITY_RETRY,
        )
        self._purged = True

    async def _drain_effects(self) -> None:
        while self._pending_notices or self._pending_documents:
            if self._pending_documents:
                await self._issue(self._pending_documents.pop(0))
                if not self._pending_documents and self._status == "issuing":
                    self._finish(self._final_outcome or "completed")
                continue
            event, params, values = self._pending_notices.pop(0)
            milestones = self._new_milestones()
            if workflow.patched("notices-in-background-v1"):
                # A channel that is down retries for hours: it must not hold up documents,
                # later notices or the end of the case. _deliver numbers the notice before
                # its first await, so keys stay deterministic.
                task = asyncio.create_task(self._deliver(event, params, values, milestones))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)
            else:
                await self._deliver(event, params, values, milestones)

    def _next_timer_delay(self) -> timedelta | None:
        moments = [moment for moment, _ in self._timers()]
        if not moments:
            return None
        return max(min(moments) - workflow.now(), timedelta(milliseconds=1))

    def _timers(self) -> list[tuple[datetime, str]]:
        """The durable timers that apply now, as (when, what)."""
        timers: list[tuple[datetime, str]] = []
        if self._status == "awaiting_correction" and self._correction_due is not None:
            timers.append((self._correction_due, "correction_expired"))
        if self._status == "in_progress":
            due = self._due_at()
            assert due is not None  # the legal clock runs whenever a caseworker stage is open
            remind_at = due - timedelta(days=self._definition.processing_period.remind_before_days)
            if not self._reminded:
                timers.append((remind_at, "deadline_reminder"))
            if not self._escalated:
                timers.append((due, "deadline_escalation"))
        if self._status in ("in_progress", "awaiting_applicant"):
            deadline = self._stage_deadline()
            if deadline is not None:
                rule = self._current_stage().deadline
                assert rule is not None
                for days in rule.remind_before_days:
                    if days not in self._stage_reminders_sent:
                        timers.append((deadline - timedelta(days=days), f"stage_reminder:{days}"))
                timers.append((deadline, "stage_expired"))
        return timers

    def _on_timer(self) -> None:
        now = workflow.now()
        # By time only: the stable sort keeps reminder before escalation when both are due.
        for moment, what in sorted(self._timers(), key=lambda timer: timer[0]):
            if moment > now or self._status in TERMINAL:
                continue
            if what == "correction_expired":
                self._record("correction_expired", actor="system")
                self._notify("correction_expired")
                self._finish("closed")
            elif what == "deadline_reminder":
                self._reminded = True
                self._record("deadline_reminder", actor="system")
                self._notify("deadline_reminder", due_date=jst_date(self._due_at() or moment))
            elif what == "deadline_escalation":
                self._escalated = True
                self._record("deadline_escalation", actor="system")
                self._notify("deadline_escalation", due_date=jst_date(moment))
            elif what.startswith("stage_reminder:"):
                self._stage_reminders_sent.add(int(what.split(":", 1)[1]))
                self._record("stage_reminder", actor="system")
                self._notify("stage_reminder", due_date=jst_date(moment))
            elif what == "stage_expired":
                self._on_stage_expired()

    def _on_stage_expired(self) -> None:
        rule = self._current_stage().deadline
        assert rule is not None
        self._record("stage_expired", actor="system")
        if rule.on_expiry == "complete":
            self._finish("completed")
        elif rule.on_expiry == "close":
            self._notify("stage_expired")
            self._finish("closed")
        else:
            self._notify("stage_expired")

    def _new_milestones(self) -> list[Milestone]:
        """The statistics milestones not yet handed on (now marked as handed on)."""
        start = self._start
        facts = CaseFacts(
            application_id=start.application_id, procedure=self._definition.id,
            municipality=start.municipality, channel=channel_of(start),
            disaster_event=disaster_event_of(start.data),
            standard_days=self._definition.processing_period.days)
        copies = {d.id for d in self._documents
                  if d.type in self._definition.issue_on_submit}
        new = [m for m in milestones_of(facts, self._timeline, self._status,
                                        self._final_outcome, copies)
               if m.key not in self._milestones_sent]
        self._milestones_sent.update(m.key for m in new)
        return new

    async def _record_milestones(self) -> None:
        """Milestones ride on the notices of the transitions (``_drain_effects``); what an
        ended case still holds (an event without a notice in its procedure) goes to the
        read model by one local activity (issue #20 measured the cost of both)."""
        if self._status not in TERMINAL or not self._has_new_milestones():
            return
        if not workflow.patched("statistics-v1"):
            return
        new = self._new_milestones()
        await workflow.execute_local_activity(
            MILESTONES_ACTIVITY, MilestoneBatch(milestones=new), result_type=int,
            start_to_close_timeout=timedelta(seconds=30), retry_policy=_ACTIVITY_RETRY,
        )

    def _has_new_milestones(self) -> bool:
        sent = set(self._milestones_sent)
        found = bool(self._new_milestones())
        self._milestones_sent = sent
        return found

    # ---- a life event's bundle -----------------------------------------------------------

    async def _report_status(self) -> None:
        """Tell the bundle when the case is decided (issuing) or has ended."""
        if self._start.bundle_id is None or self._status == self._reported:
            return
        if self._status == "issuing" or self._status in TERMINAL:
            self._reported = self._status
            await self._report()

    async def _report(self, document: str | None = None) -> None:
        """Signal the bundle (only cases of a bundle: others issue no command here). A
        bundle that has ended cannot take it, and that must never fail the case."""
        bundle_id = self._start.bundle_id
        if bundle_id is None:
            return
        report = CaseReport(
            application_id=self._start.application_id, procedure=self._definition.id,
            status=self._status, stage=self._stage, document=document,
            documents=list(self._documents), data=self._data, step_data=self._step_data,
            computed=self._computed)
        try:
            await workflow.get_external_workflow_handle(bundle_id).signal("case_report", report)
        except FailureError:
            workflow.logger.info("case %s: its bundle took no report (ended)",
                                 self._start.application_id)

    @workflow.signal
    def amend(self, amendment: Amendment) -> None:
        """The bundle's upstream case changed this case's form (a re-survey changed the
        grade): the case takes the new form and, if a later stage was reached, is reviewed
        again from its first stage. A decided case keeps its decision (the bundle files a
        new one)."""
        if self._status in TERMINAL or self._status == "issuing":
            workflow.logger.info("case %s: amendment ignored (decided)",
                                 self._start.application_id)
            return
        self._data = dict(amendment.data)
        self._provenance.update(amendment.provenance)
        self._amendments += 1
        self._record("amended", actor="system", comment=amendment.reason.get("ja"))
        initial = self._definition.initial_stage
        if self._stage != initial and self._status != "awaiting_correction":
            self._enter(initial)
            self._rearm = True
        self._sync_search_attributes()

    # ---- updates and queries ------------------------------------------------------------

    @workflow.query
    def view(self) -> ApplicationView:
        return self._view()

    @workflow.update
    def act(self, request: ActionRequest) -> ApplicationView:
        name = request.action
        if name == "withdraw":
            self._record("withdrawn", actor="applicant", action=name, comment=request.comment)
            self._notify("withdrawn")
            self._finish("withdrawn")
        elif name == "submit_correction":
            refiled = self._correction_target is None  # the form itself, not a step's input
            if refiled:
                self._data = dict(request.data or {})
            else:
                self._step_data[self._correction_target] = dict(request.data or {})
            self._status = "in_progress"
            self._correction_due = None
            self._correction_comment = None
            self._correction_target = None
            self._clock_started = workflow.now()
            self._record("correction_submitted", actor="applicant", action=name)
            if refiled:  # a new 申請控え of the corrected application
                self._pending_documents.extend(self._definition.issue_on_submit)
            self._notify("correction_submitted")
        else:
            action = self._current_stage().action(name)
            assert action is not None  # the validator checked it
            self._stage_action(action, request)
        self._sync_search_attributes()
        return self._view()

    @workflow.update
    async def revoke(self, request: RevocationRequest) -> ApplicationView:
        """Ask for, or confirm, the revocation of a document this case issued."""
        actor = request.actor.subject
        if not request.confirm:
            self._revocations.append(Revocation(
                document_id=request.document_id, reason=(request.reason or "").strip(),
                requested_by=actor, requested_at=workflow.now()))
            self._record("revocation_requested", actor=actor, comment=request.document_id)
            return self._view()
        found = next(r for r in self._revocations if r.document_id == request.document_id)
        # Marked before the activity, so a second confirmation meanwhile is refused.
        found.confirmed_by, found.confirmed_at = actor, workflow.now()
        try:
            await workflow.execute_activity(
                REVOKE_ACTIVITY,
                RevokeDocumentInput(document_id=found.document_id, reason=found.reason,
                                    actor=f"{found.requested_by}+{actor}",
                                    at=found.confirmed_at),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=5,
                                         initial_interval=timedelta(seconds=1)),
            )
        except ActivityError as exc:
            found.confirmed_by = found.confirmed_at = None
            raise ApplicationError("the register did not take the revocation",
                                   {"code": "register_refused", "kind": "conflict",
                                    "message": {"ja": "書類の取消しを記録できませんでした。",
                                                "en": "The revocation could not be recorded."}},
                                   type="register_refused", non_retryable=True) from exc
        self._record("revoked", actor=actor, comment=found.document_id)
        return self._view()

    @revoke.validator
    def _validate_revoke(self, request: RevocationRequest) -> None:
        refusal = check_revocation(self._definition, self._view(), request)
        if refusal is not None:
            raise ApplicationError(
                refusal.message["en"], refusal.model_dump(), type=refusal.code, non_retryable=True
            )

    @act.validator
    def _validate_act(self, request: ActionRequest) -> None:
        refusal = check_action(self._definition, self._view(), request)
        if refusal is None:
            refusal = self._check_computations(request)
        if refusal is not None:
            raise ApplicationError(
                refusal.message["en"], refusal.model_dump(), type=refusal.code, non_retryable=True
            )

    def _check_computations(self, request: ActionRequest) -> Refusal | None:
        stage = self._definition.stage(self._stage)
        action = stage.action(request.action) if stage else None
        if action is None or not (action.compute or action.routes):
            return None
        try:
            computed = self._compute(action, request.data or {}, checking=True)
            if action.routes:
                steps = {**self._step_data, action.id: dict(request.data or {})}
                route_of(self._definition, action, application=self._data, steps=steps,
                         computed={**self._computed, **computed},
                         today=jst_date(workflow.now()))
        except (KeyError, ValueError, TypeError, jsonpointer.JsonPointerException) as exc:
            return Refusal(code="invalid_input", kind="invalid",
                           message={"ja": "入力内容を確認してください。", "en": str(exc)})
        return None

    # ---- state changes ------------------------------------------------------------------

    def _stage_action(self, action: ActionDefinition, request: ActionRequest) -> None:
        actor = "applicant" if request.actor.kind != "caseworker" else request.actor.subject
        if action.kind == "claim":
            self._assignee = actor
            self._record("claimed", actor=actor, action=action.id)
            return
        if action.kind == "request_correction":
            self._pause_clock()
            days = self._definition.correction.deadline_days
            self._correction_due = workflow.now() + timedelta(days=days)
            self._correction_comment = request.comment
            self._correction_target = action.correction_of
            self._status = "awaiting_correction"
            self._record("correction_requested", actor=actor, action=action.id,
                         comment=request.comment)
            self._notify("correction_requested", comment=request.comment or "",
                         due_date=jst_date(self._correction_due))
            return
        if request.data is not None:
            self._step_data[action.id] = dict(request.data)
        self._computed.update(self._compute(action, request.data or {}))
        self._actors[action.id] = actor
        self._record(action.id, actor=actor, action=action.id, comment=request.comment)
        route = self._route(action)
        to, outcome, issue = route.to, route.outcome, route.issue
        if route.notify is not None:
            self._notify(route.notify, comment=request.comment or "")
        self._pending_documents.extend(issue)
        if to is not None:
            if self._stage == self._definition.initial_stage:
                self._notify("accepted")
            self._enter(to)
        elif outcome == "rejected" and not issue:
            self._notify("rejected", comment=request.comment or "")
            self._finish("rejected")
        elif issue:
            if outcome == "rejected":
                self._notify("rejected", comment=request.comment or "")
            self._status = "issuing"
            self._final_outcome = outcome
        else:
            self._finish("completed")

    def _route(self, action: ActionDefinition) -> Route:
        """Where the action leads; its routes read what it has just computed. The
        validator evaluated them on the same values, so they cannot fail here."""
        return route_of(self._definition, action, application=self._data,
                        steps=self._step_data, computed=self._computed,
                        today=jst_date(workflow.now()))

    def _enter(self, stage_id: str) -> None:
        """Move to a stage: whose turn it is decides the status and the legal clock."""
        self._stage = stage_id
        self._assignee = None
        self._stage_entered = workflow.now()
        self._stage_reminders_sent = set()
        if self._current_stage().actor == "caseworker":
            self._status = "in_progress"
            if self._clock_started is None:
                self._clock_started = workflow.now()
        else:
            self._status = "awaiting_applicant"  # the applicant's turn: not the municipality's
            self._pause_clock()

    def _current_stage(self) -> StageDefinition:
        stage = self._definition.stage(self._stage)
        assert stage is not None  # only called while a stage is open
        return stage

    def _stage_deadline(self) -> datetime | None:
        stage = self._definition.stage(self._stage)
        if stage is None or stage.deadline is None or self._stage_expired_here():
            return None
        return self._stage_entered + timedelta(days=stage.deadline.days)

    def _stage_expired_here(self) -> bool:
        return any(e.event == "stage_expired" and e.at >= self._stage_entered
                   for e in self._timeline)

    def _compute(self, action: ActionDefinition, data: dict[str, Any],
                 checking: bool = False) -> dict[str, Any]:
        # Expressions exist only in definitions newer than this code path; the patch marks
        # where histories start to have them. A validator records no marker (it may not
        # add commands), and evaluating there changes no state.
        expressions = uses_expressions(action) and (
            checking or workflow.patched("compute-expressions-v1"))
        return compute_action(
            self._definition, action, data, application=self._data, steps=self._step_data,
            computed=self._computed, today=jst_date(workflow.now()), expressions=expressions)

    def _finish(self, status: Status) -> None:
        self._pause_clock()
        self._status = status
        self._stage = status
        self._assignee = None

    def _pause_clock(self) -> None:
        if self._clock_started is not None:
            self._clock_used += workflow.now() - self._clock_started
            self._clock_started = None

    def _due_at(self) -> datetime | None:
        if self._clock_started is None:
            return None
        period = timedelta(days=self._definition.processing_period.days)
        return self._clock_started + period - self._clock_used

    def _record(self, event: str, *, actor: str | None, action: str | None = None,
                comment: str | None = None) -> None:
        self._timeline.append(TimelineEntry(
            at=workflow.now(), event=event, stage=self._stage, actor=actor,
            action=action, comment=comment,
        ))

    def _notify(self, event: str, **params: str) -> None:
        rule = self._definition.notices.get(event)
        if rule is None:
            return
        # The declared values as the case holds them now (a later step may change them
        # before a background delivery starts). Only definitions with 'include' evaluate.
        values, failed = included_values(
            self._definition, rule.include, application=self._data, steps=self._step_data,
            computed=self._computed, today=jst_date(workflow.now()))
        if failed:
            workflow.logger.warning("notice %s of %s: values %s could not be evaluated", event,
                                    self._start.application_id, ", ".join(failed))
        self._pending_notices.append((event, params, values))

    def _sync_search_attributes(self) -> None:
        """Index what changed, and only that: every upsert is a history event."""
        due = self._due_at()
        indexed = (self._stage, self._status, self._assignee, due)
        if indexed == self._indexed:
            return
        self._indexed = indexed
        workflow.upsert_search_attributes([
            sa.STAGE.value_set(self._stage),
            sa.STATUS.value_set(self._status),
            sa.ASSIGNEE.value_set(self._assignee) if self._assignee else sa.ASSIGNEE.value_unset(),
            sa.DUE_AT.value_set(due) if due else sa.DUE_AT.value_unset(),
        ])

    # ---- activities ---------------------------------------------------------------------

    async def _deliver(self, event: str, params: dict[str, str], values: dict[str, Any],
                       milestones: list[Milestone] | None = None) -> None:
        rule = self._definition.notices[event]
        recipient = (f"applicant:{self._start.applicant.key}" if rule.to == "applicant"
                     else f"municipality:{self._start.municipality}")
        self._notice_seq += 1
        channels = ["inbox"]
        if rule.channels != ["inbox"] and workflow.patched("notice-channels-v1"):
            # Which of the wanted channels reach the recipient is read now, not decided at
            # submission: preferences and subscriptions change while a case runs.
            lookup = NoticeChannelsInput(recipient=recipient, wanted=list(rule.channels),
                                         municipality=self._start.municipality)
            if workflow.patched("notice-channels-local-v1"):
                # A read of preferences, milliseconds: inside the workflow task (a marker in
                # history) instead of an activity's round trips through the server.
                channels = await workflow.execute_local_activity(
                    NOTICE_CHANNELS_ACTIVITY, lookup, result_type=list[str],
                    start_to_close_timeout=timedelta(seconds=10), retry_policy=_ACTIVITY_RETRY,
                )
            else:
                channels = await workflow.execute_activity(
                    NOTICE_CHANNELS_ACTIVITY, lookup, result_type=list[str],
                    start_to_close_timeout=timedelta(seconds=10), retry_policy=_ACTIVITY_RETRY,
                )
        # Notices have their own worker pool; cases from before it keep the cases queue.
        queue = (workflow.info().task_queue + NOTICES_QUEUE_SUFFIX
                 if workflow.patched("notices-queue-v1") else None)
        for channel in channels:
            notice = NoticeInput(
                key=f"{self._start.application_id}:{self._notice_seq}:{event}:{channel}",
                application_id=self._start.application_id,
                procedure=self._definition.id,
                procedure_version=self._definition.version,
                event=event,
                recipient=recipient,
                params={"application_id": self._start.application_id, **params},
                values=values,
                created_at=workflow.now(),
                channel=channel,
                municipality=self._start.municipality,
                lang=self._start.lang,
                milestones=milestones or [],
            )
            milestones = None  # on the first channel's notice only
            # No schedule-to-close: a channel's own retry window decides when to give up
            # (then it falls back to the inbox), and the outcome is never an exception.
            # No result type either: histories before channels recorded a bool here.
            await workflow.execute_activity(
                NOTICE_ACTIVITY, notice, task_queue=queue,
                start_to_close_timeout=timedelta(seconds=30), retry_policy=_ACTIVITY_RETRY,
            )

    async def _issue(self, document_type: str) -> None:
        request = IssueDocumentInput(
            document_id=document_number(self._start.application_id, document_type,
                                        len(self._documents)),
            document_type=document_type,
            application_id=self._start.application_id,
            procedure=self._definition.id,
            procedure_version=self._definition.version,
            municipality=self._start.municipality,
            issued_at=workflow.now(),
            data=self._data,
            step_data=self._step_data,
            computed=self._computed,
            supersedes=next((d.id for d in reversed(self._documents) if d.type == document_type),
                            None),
            submitted_at=self._submitted_at,
        )
        try:
            ref = await workflow.execute_activity(
                ISSUE_ACTIVITY, request, result_type=DocumentRef,
                task_queue=workflow.info().task_queue + DOCUMENTS_QUEUE_SUFFIX,
                # Render + seal take about a second: a worker killed mid-document is retried
                # soon.
                start_to_close_timeout=timedelta(seconds=60), retry_policy=_ACTIVITY_RETRY,
            )
        except ActivityError:
            if document_type not in self._definition.issue_on_submit:
                raise
            # Only a defect of the package or configuration gets here (a template error, no
            # seal for the municipality): every other cause is retried until it clears. The
            # filing stands without its copy, and the case says so to the caseworker.
            workflow.logger.error("document %s of %s could not be issued", document_type,
                                  self._start.application_id)
            self._record("document_failed", actor="system", comment=document_type)
            return
        self._documents.append(ref)
        self._record("issued", actor="system", comment=ref.id)
        if document_type not in self._definition.issue_on_submit:
            # A copy of the filing is announced by the 'submitted' notice itself.
            self._notify("issued", document_title=ref.title.get("ja", ""))
            await self._report(document=document_type)

    def _view(self) -> ApplicationView:
        return ApplicationView(
            application_id=self._start.application_id,
            procedure=self._definition.id,
            procedure_version=self._definition.version,
            municipality=self._start.municipality,
            applicant_key=self._start.applicant.key,
            applicant_name=self._start.applicant.name,
            status=self._status,
            stage=self._stage,
            assignee=self._assignee,
            submitted_at=self._submitted_at,
            due_at=self._due_at(),
            correction_due_at=self._correction_due,
            correction_comment=self._correction_comment,
            data=self._data,
            step_data=self._step_data,
            computed=self._computed,
            actors=self._actors,
            timeline=list(self._timeline),
            documents=list(self._documents),
            escalated=self._escalated,
            correction_target=self._correction_target,
            stage_due_at=self._stage_deadline(),
            proxy=self._start.proxy,
            request_key=self._start.request_key,
            purged=self._purged,
            revocations=[r.model_copy() for r in self._revocations],
            bundle_id=self._start.bundle_id,
            provenance=dict(self._provenance),
            amendments=self._amendments,
        )


def jst_date(moment: datetime) -> str:
    """A date as residents read it: the calendar day in Japan."""
    return (moment + timedelta(hours=9)).date().isoformat()
