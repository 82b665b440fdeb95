"""``LifeEventWorkflow``: one bundle of a life event (被災した, 子どもが生まれた).

The bundle starts each procedure's case as a child ``ProcedureWorkflow`` whose id derives
from the bundle and the procedure (:func:`member_application_id`), so a retry or a replay
never files twice: the server refuses a second start of the same id. Cases outlive the
bundle (they stay open through their retention period), so children are started with
``ParentClosePolicy.ABANDON`` and report to the bundle by the ``case_report`` Signal
rather than by completing. A dependent procedure waits on those reports: when its upstream
case reaches the awaited event, its ``after.when`` is evaluated here (deterministically,
``today`` from workflow time) and the activity ``prepare_dependent_filing`` maps its form
from the bundle's facts, the upstream case and the registry as it is now.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from forms.definition import ProcedureDefinition
    from forms.expressions import ExpressionError
    from forms.lifeevents import Dependency, OfferedProcedure
    from forms.lifeevents_mapping import dependency_holds, life_event_bindings, upstream_case
    from forms.pointers import resolve
    from workflows import search_attributes as sa
    from workflows.models import (
        TERMINAL,
        Amendment,
        BundleMember,
        BundleView,
        BundleWithdrawal,
        CaseReport,
        DependentFiling,
        DependentFilingInput,
        Provenance,
        StartApplication,
        StartBundle,
        TimelineEntry,
    )
    from workflows.procedure import ProcedureWorkflow, jst_date
    from workflows.rules import Refusal

PREPARE_ACTIVITY = "prepare_dependent_filing"
CASE_REPORT_SIGNAL = "case_report"
AMEND_SIGNAL = "amend"

_PREPARE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    # A form the procedure refuses is a defect of the definition: no retry can fix it.
    non_retryable_error_types=["dependent_filing_invalid", "unknown_procedure",
                               "unknown_municipality"],
)


def member_application_id(bundle_id: str, procedure: str, generation: int = 1) -> str:
    """The case id of a bundle's procedure: ``<bundle>-<procedure>``, then ``-2``, ``-3`` for
    each new filing (a new decision after the upstream case changed). Opaque like the
    bundle id it extends (the procedure id is a code)."""
    base = f"{bundle_id}-{procedure}"
    return base if generation == 1 else f"{base}-{generation}"


#: Why a dependent procedure was not filed when its upstream case ended without the event.
def _upstream_ended(title: dict[str, str], status: str) -> dict[str, str]:
    words = {"withdrawn": ("取り下げられた", "was withdrawn"),
             "rejected": ("却下された", "was rejected"),
             "closed": ("終了した", "was closed"),
             "completed": ("完了した", "was completed")}
    ja, en = words.get(status, ("終了した", "ended"))
    return {"ja": f"「{title.get('ja', '')}」が{ja}ため、申請されませんでした。",
            "en": f"Not filed: \u201c{title.get('en', '')}\u201d {en}."}


@workflow.defn
class LifeEventWorkflow:
    @workflow.init
    def __init__(self, start: StartBundle) -> None:
        # Validators and the Query read this state, and may run before run() starts.
        self._start = start
        self._now = workflow.now()
        self._members: dict[str, BundleMember] = {}
        self._pinned: dict[str, ProcedureDefinition | None] = {}
        self._forms: dict[str, dict[str, Any]] = {}  # what each newest filing holds
        self._provenance: dict[str, dict[str, Provenance]] = {}
        self._timeline: list[TimelineEntry] = []
        self._reports: list[CaseReport] = []
        self._status: str = "open"
        for member in start.members:
            self._pinned[member.procedure] = member.definition
            state = member.state
            self._members[member.procedure] = BundleMember(
                procedure=member.procedure, title=member.title, state=state,
                reason=member.reason)
            if state == "filed":
                application_id = member_application_id(start.bundle_id, member.procedure)
                self._members[member.procedure].application_id = application_id
                self._members[member.procedure].filings = [application_id]
                self._forms[member.procedure] = dict(member.data or {})
                self._provenance[member.procedure] = dict(member.provenance)
            elif state == "waiting":
                self._members[member.procedure].waits_for = self._waits_for(member.procedure)
        self._record("submitted", stage="bundle", actor="applicant")

    # ---- main loop ------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: StartBundle) -> BundleView:
        self._index()
        # Every immediate filing in one workflow task: their start commands go together.
        immediate = [m.procedure for m in self._members.values() if m.state == "filed"]
        await asyncio.gather(*(self._file(p, 1) for p in immediate))
        while True:
            await workflow.wait_condition(lambda: bool(self._reports) or self._finished())
            if self._reports:
                await self._on_report(self._reports.pop(0))
                continue
            break
        self._status = "closed"
        self._record("closed", stage="bundle", actor="system")
        self._index()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    def _finished(self) -> bool:
        for member in self._members.values():
            if member.state == "waiting":
                return False
            if member.state == "filed" and member.status not in TERMINAL:
                return False
        return True

    def _index(self) -> None:
        """The bundle's own search attributes (the service sets most at start)."""
        wanted = [SearchAttributePair(sa.MUNICIPALITY, self._start.municipality),
                  SearchAttributePair(sa.APPLICANT, self._start.applicant.key),
                  SearchAttributePair(sa.LIFE_EVENT, self._start.definition.id),
                  SearchAttributePair(sa.STATUS, self._status)]
        event_id = self._event_id()
        if event_id is not None:
            wanted.append(SearchAttributePair(sa.EVENT_ID, event_id))
        present = workflow.info().typed_search_attributes
        changed = [p for p in wanted if present.get(p.key) != p.value]
        if changed:
            workflow.upsert_search_attributes([p.key.value_set(p.value) for p in changed])

    def _event_id(self) -> str | None:
        pointer = self._start.definition.event_field
        if pointer is None:
            return None
        value = resolve(self._start.answers, pointer, None)
        return value if isinstance(value, str) and value else None

    # ---- messages -------------------------------------------------------------------------

    @workflow.signal(name=CASE_REPORT_SIGNAL)
    def case_report(self, report: CaseReport) -> None:
        # Handled in order by the main loop: a report may start activities and children.
        self._reports.append(report)

    @workflow.query
    def view(self) -> BundleView:
        return self._view()

    @workflow.update
    def withdraw_all(self, request: BundleWithdrawal) -> BundleView:
        for member in self._members.values():
            if member.state != "waiting" or request.procedure not in (None, member.procedure):
                continue
            member.state = "withdrawn"
            member.waits_for = None
            member.reason = {"ja": "申請者が取り下げました。", "en": "Withdrawn by the applicant."}
            self._record("withdrawn", stage=member.procedure, actor="applicant")
        return self._view()

    @withdraw_all.validator
    def _validate_withdraw_all(self, request: BundleWithdrawal) -> None:
        refusal: Refusal | None = None
        if request.actor.kind == "caseworker" or (
                request.actor.applicant_key != self._start.applicant.key):
            refusal = Refusal(code="not_applicant", kind="forbidden", message={
                "ja": "申請者本人だけが取り下げできます。",
                "en": "Only the applicant may withdraw."})
        elif request.procedure is not None and request.procedure not in self._members:
            refusal = Refusal(code="unknown_procedure", kind="invalid", message={
                "ja": "この手続きはまとめて申請されていません。",
                "en": "This procedure is not part of the bundle."})
        elif request.procedure is not None and (
                self._members[request.procedure].state != "waiting"):
            refusal = Refusal(code="not_waiting", kind="conflict", message={
                "ja": "この手続きは待機中ではありません。"
                      "申請済みの手続きは個別に取り下げてください。",
                "en": "This procedure is not waiting: withdraw a filed case on its own."})
        elif self._status == "closed":
            refusal = Refusal(code="bundle_closed", kind="conflict", message={
                "ja": "このまとめ申請は終了しています。",
                "en": "This bundle has ended."})
        if refusal is not None:
            raise ApplicationError(refusal.message["en"], refusal.model_dump(),
                                   type=refusal.code, non_retryable=True)

    # ---- reports and dependencies ---------------------------------------------------------

    async def _on_report(self, report: CaseReport) -> None:
        member = self._members.get(report.procedure)
        if member is None or report.application_id not in member.filings:
            workflow.logger.warning("bundle %s: a report of a case not its own",
                                    self._start.bundle_id)
            return
        label = f"document:{report.document}" if report.document else report.status
        if report.application_id != member.application_id:
            # An earlier filing (superseded by a new decision): history only.
            self._record("reported_superseded", stage=member.procedure, actor="system",
                         comment=f"{report.application_id} {label}")
            return
        member.status, member.stage = report.status, report.stage
        member.documents, member.computed = list(report.documents), dict(report.computed)
        self._record("reported", stage=member.procedure, actor="system",
                     comment=f"{report.application_id} {label}")
        for offered in self._start.definition.procedures:
            if offered.after is not None and offered.after.procedure == member.procedure:
                await self._dependent(offered, offered.after, report)

    async def _dependent(self, offered: OfferedProcedure, after: Dependency,
                         report: CaseReport) -> None:
        member = self._members.get(offered.procedure)
        if member is None or member.state in ("not_selected", "not_eligible", "withdrawn",
                                              "failed"):
            return
        awaited = (report.document is not None and after.on == f"document:{report.document}"
                   ) or (report.document is None and after.on == report.status)
        if not awaited:
            if member.state == "waiting" and report.status in TERMINAL:
                upstream = self._members[after.procedure].title
                if report.status == "withdrawn":
                    member.state = "withdrawn"
                    member.reason = _upstream_ended(upstream, "withdrawn")
                else:
                    member.state = "not_filed"
                    member.reason = _upstream_ended(upstream, report.status)
                member.waits_for = None
                self._record(member.state, stage=member.procedure, actor="system",
                             comment=member.reason["ja"])
            return
        case = upstream_case(report.model_dump(mode="json"))
        if member.state in ("waiting", "not_filed"):
            try:
                holds = dependency_holds(after, self._bindings(case))
            except ExpressionError as exc:
                self._fail(member, "when", str(exc))
                return
            if not holds:
                member.state, member.reason, member.waits_for = "not_filed", dict(
                    after.not_filed.model_dump()), None
                self._record("not_filed", stage=member.procedure, actor="system",
                             comment=member.reason["ja"])
                return
            prepared = await self._prepare(member, case)
            if prepared is None:
                return
            self._forms[member.procedure] = prepared.data
            self._provenance[member.procedure] = dict(prepared.provenance)
            await self._file(member.procedure, len(member.filings) + 1)
            return
        if member.state != "filed" or after.on_change == "ignore":
            return
        prepared = await self._prepare(member, case, defect_fails=False)
        if prepared is None or prepared.data == self._forms.get(member.procedure):
            return
        self._forms[member.procedure] = prepared.data
        self._provenance[member.procedure] = dict(prepared.provenance)
        upstream_title = self._members[after.procedure].title
        reason = {"ja": f"「{upstream_title.get('ja', '')}」の内容が変わりました。",
                  "en": f"\u201c{upstream_title.get('en', '')}\u201d changed."}
        decided = member.status in TERMINAL or member.status == "issuing"
        if after.on_change == "amend" and not decided:
            assert member.application_id is not None
            try:
                await workflow.get_external_workflow_handle(member.application_id).signal(
                    AMEND_SIGNAL, Amendment(data=prepared.data,
                                            provenance=dict(prepared.provenance),
                                            reason=reason,
                                            upstream_application_id=report.application_id))
            except FailureError:
                workflow.logger.warning("bundle %s: case %s took no amendment",
                                        self._start.bundle_id, member.application_id)
                return
            self._record("amended", stage=member.procedure, actor="system",
                         comment=member.application_id)
            return
        # A new decision: the earlier filing stands as decided, a new one is filed.
        await self._file(member.procedure, len(member.filings) + 1)
        self._record("refiled", stage=member.procedure, actor="system",
                     comment=member.application_id)

    def _bindings(self, case: dict[str, Any]) -> Any:
        start = self._start
        return life_event_bindings(start.definition, answers=start.answers,
                               applicant=start.applicant_claims, household=start.household,
                               account=start.account, events=start.events,
                               today=jst_date(workflow.now()), case=case)

    async def _prepare(self, member: BundleMember, case: dict[str, Any],
                       defect_fails: bool = True) -> DependentFiling | None:
        pinned = self._pinned.get(member.procedure)
        if pinned is None:
            self._fail(member, "definition", "no pinned definition")
            return None
        start = self._start
        request = DependentFilingInput(
            bundle_id=start.bundle_id, procedure=member.procedure,
            procedure_version=pinned.version, municipality=start.municipality,
            applicant_key=start.applicant.key, definition=start.definition,
            answers=start.answers, answer_provenance=start.provenance,
            applicant_claims=start.applicant_claims, household=start.household,
            account=start.account, registry_person=start.registry_person, events=start.events,
            case=case, today=jst_date(workflow.now()))
        try:
            return await workflow.execute_activity(
                PREPARE_ACTIVITY, request, result_type=DependentFiling,
                # The adapters bound their own calls (timeouts, a few retries) and fall back
                # to the snapshot; this bounds one attempt of the whole preparation.
                start_to_close_timeout=timedelta(seconds=60), retry_policy=_PREPARE_RETRY)
        except ActivityError as exc:
            cause = exc.cause
            code = cause.type if isinstance(cause, ApplicationError) else "activity_failed"
            if defect_fails:
                self._fail(member, "form", code or "activity_failed")
            else:
                self._record("change_failed", stage=member.procedure, actor="system",
                             comment=code)
            return None

    def _fail(self, member: BundleMember, where: str, what: str) -> None:
        # A defect of the life event's definition: logged by procedure, never with values.
        workflow.logger.error("bundle %s: dependent %s could not be prepared (%s)",
                              self._start.bundle_id, member.procedure, where)
        member.state, member.waits_for = "failed", None
        member.reason = {"ja": "この手続きを自動で申請できませんでした。"
                               "窓口にお問い合わせください。",
                         "en": "This procedure could not be filed automatically: please "
                               "contact the municipal office."}
        self._record("failed", stage=member.procedure, actor="system", comment=f"{where}: {what}")

    async def _file(self, procedure: str, generation: int) -> None:
        """Start the case of ``procedure`` (``generation`` 2, 3: a new decision)."""
        member = self._members[procedure]
        definition = self._pinned[procedure]
        assert definition is not None  # filed and waiting members carry their definition
        application_id = member_application_id(self._start.bundle_id, procedure, generation)
        submitted = workflow.now()
        start = StartApplication(
            application_id=application_id, definition=definition,
            municipality=self._start.municipality, applicant=self._start.applicant,
            data=self._forms.get(procedure, {}), submitted_at=submitted,
            lang=self._start.lang, bundle_id=self._start.bundle_id,
            provenance=self._provenance.get(procedure, {}), counter=self._start.counter)
        member.application_id = application_id
        if application_id not in member.filings:
            member.filings.append(application_id)
        member.state, member.waits_for = "filed", None
        member.status, member.stage = "in_progress", definition.initial_stage
        member.documents, member.computed = [], {}
        try:
            await workflow.start_child_workflow(
                ProcedureWorkflow.run, start, id=application_id,
                task_queue=workflow.info().task_queue,
                # A case outlives its bundle: the bundle's end never cancels it.
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=TypedSearchAttributes([
                    SearchAttributePair(sa.MUNICIPALITY, self._start.municipality),
                    SearchAttributePair(sa.PROCEDURE, definition.id),
                    SearchAttributePair(sa.STAGE, definition.initial_stage),
                    SearchAttributePair(sa.STATUS, "in_progress"),
                    SearchAttributePair(sa.APPLICANT, self._start.applicant.key),
                    SearchAttributePair(sa.DUE_AT, submitted + timedelta(
                        days=definition.processing_period.days)),
                    SearchAttributePair(sa.BUNDLE, self._start.bundle_id),
                ]))
        except WorkflowAlreadyStartedError:
            # Only this bundle derives this id: the case exists already (the bundle was
            # reset, say), and it is this filing. Never a second one.
            workflow.logger.warning("bundle %s: case %s was started already",
                                    self._start.bundle_id, application_id)
        self._record("filed", stage=procedure, actor="system", comment=application_id)

    # ---- reading --------------------------------------------------------------------------

    def _waits_for(self, procedure: str) -> dict[str, str] | None:
        offered = self._start.definition.offered(procedure)
        if offered is None or offered.after is None:
            return None
        upstream = self._members.get(offered.after.procedure)
        title = upstream.title if upstream else {"ja": offered.after.procedure,
                                                  "en": offered.after.procedure}
        on = offered.after.on
        if on.startswith("document:"):
            pinned = self._pinned.get(offered.after.procedure)
            spec = pinned.document(on.split(":", 1)[1]) if pinned else None
            doc = spec.title.model_dump() if spec else {"ja": "書類", "en": "the document"}
            return {"ja": f"{doc['ja']}の交付を待っています。",
                    "en": f"Waiting for the {doc['en']} to be issued."}
        return {"ja": f"「{title.get('ja', '')}」の結果を待っています。",
                "en": f"Waiting for the outcome of \u201c{title.get('en', '')}\u201d."}

    def _record(self, event: str, *, stage: str, actor: str | None,
                comment: str | None = None) -> None:
        self._timeline.append(TimelineEntry(at=workflow.now(), event=event, stage=stage,
                                            actor=actor, comment=comment))

    def _view(self) -> BundleView:
        start = self._start
        return BundleView(
            bundle_id=start.bundle_id, life_event=start.definition.id,
            life_event_version=start.definition.version,
            title=start.definition.title.model_dump(), municipality=start.municipality,
            applicant_key=start.applicant.key, applicant_name=start.applicant.name,
            household_key=start.household_key, submitted_at=self._now,
            status="closed" if self._status == "closed" else "open",
            members=[m.model_copy(deep=True) for m in self._members.values()],
            answers=start.answers, provenance=start.provenance,
            timeline=list(self._timeline), request_key=start.request_key)
