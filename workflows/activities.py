"""The side effects of a case, as idempotent activities.

Each is keyed by something the workflow derives deterministically (notice key, document
number), so a retry after a worker crash finds its earlier work and does not repeat it.
They raise on failure (Temporal retries with backoff); only a problem no retry can fix is
a non-retryable ``ApplicationError``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from datetime import timedelta, timezone
from typing import Any, Literal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.models import AdapterUnavailable, PublicFundsAccounts, ResidentRegistry
from documents.certified import (
    SealImageError,
    certified_values,
    municipality_short_name,
    seal_image_data_url,
)
from documents.issuer import IssuesDocuments, UnknownSealer, mask_name
from documents.render import TemplateError
from forms.catalog import Catalog, UnknownProcedure
from forms.compute import included_values
from forms.definition import DocumentDefinition
from forms.expressions import ExpressionError
from forms.filing import validate_application
from forms.lifeevents_mapping import (
    form_provenance,
    life_event_bindings,
    map_form,
    typed_stand_ins,
)
from forms.municipalities import Municipality
from forms.packages import Procedure
from forms.schemaform import SchemaForm, answers
from notices.compose import (
    ComposedNotice,
    NoticeTemplateInvalid,
    NoticeTemplateMissing,
    compose_notice,
    shown_value,
)
from notices.dispatch import DeliveryOutcome, NoticeDispatcher, deliver_via
from notices.inbox import InboxChannel
from records.blobs import BlobStore
from records.milestones import MilestoneBatch
from records.numbering import DocumentNumbers
from records.register import (
    CertifiedValue,
    DocumentNotFound,
    DocumentRegister,
    IssuedDocument,
    StatusConflict,
)
from records.statistics import MilestoneStore
from workflows.models import (
    BatchNoticeInput,
    DependentFiling,
    DependentFilingInput,
    DocumentRef,
    IssueDocumentInput,
    NoticeChannelsInput,
    NoticeInput,
    PurgeInput,
    RevokeDocumentInput,
)
from workflows.references import spoken_reference

JST = timezone(timedelta(hours=9), "JST")


class CaseActivities:
    """Activities with the stores and services they need, wired by the worker."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        municipalities: dict[str, Municipality],
        issuer: IssuesDocuments,
        blobs: BlobStore,
        register: DocumentRegister,
        inbox: InboxChannel,
        notices: NoticeDispatcher,
        numbers: DocumentNumbers | None = None,
        registry: ResidentRegistry | None = None,
        accounts: PublicFundsAccounts | None = None,
        milestones: MilestoneStore | None = None,
    ) -> None:
        self._registry = registry
        self._accounts = accounts
        self._catalog = catalog
        self._municipalities = municipalities
        self._issuer = issuer
        self._blobs = blobs
        self._register = register
        self._inbox = inbox
        self._notices = notices
        self._numbers = numbers if numbers is not None else DocumentNumbers(register.engine)
        self._milestones = (milestones if milestones is not None
                            else MilestoneStore(register.engine))

    def close(self) -> None:
        """Stop what the activities started (the document process pool)."""
        close = getattr(self._issuer, "close", None)
        if close is not None:
            close()

    def _procedure(self, procedure_id: str, version: str,
                   municipality: str | None = None) -> Procedure:
        try:
            return self._catalog.get(procedure_id, version, municipality)
        except UnknownProcedure as exc:
            # A worker without this version cannot do better on retry.
            raise ApplicationError(
                f"procedure {procedure_id} {version} is not in this worker's catalogue",
                type="unknown_procedure", non_retryable=True,
            ) from exc

    def _compose(self, notice: NoticeInput) -> ComposedNotice:
        procedure = self._procedure(notice.procedure, notice.procedure_version,
                                    notice.municipality)
        params: dict[str, Any] = {**notice.params,
                                  **{name: shown_value(value)
                                     for name, value in notice.values.items()},
                                  "procedure_title": procedure.definition.title.model_dump()}
        try:
            return compose_notice(procedure.messages, notice.event, params)
        except (NoticeTemplateMissing, NoticeTemplateInvalid) as exc:
            # A catalogue defect: retrying cannot fix it; the case shows the failure.
            raise ApplicationError(str(exc), type="notice_template", non_retryable=True) from exc

    @activity.defn(name="notice_channels")
    def notice_channels(self, request: NoticeChannelsInput) -> list[str]:
        """The channels that reach the recipient now (preferences, configuration)."""
        return self._notices.channels_for(request.recipient, request.wanted,
                                          municipality=request.municipality)

    @activity.defn(name="deliver_notice")
    def deliver_notice(self, notice: NoticeInput) -> DeliveryOutcome:
        """Deliver one notice on one channel, exactly once per key (see notices.dispatch),
        and record the statistics milestones it carries (keyed: a retry adds nothing)."""
        if notice.milestones:
            self._milestones.append(notice.milestones)
        outcome = deliver_via(self._notices, notice, self._compose(notice), notice.channel,
                              values=notice.values or None)
        activity.logger.info("notice %s %s", notice.key, outcome.status)
        return outcome

    @activity.defn(name="deliver_notices")
    def deliver_notices(self, batch: BatchNoticeInput) -> int:
        """Many notices at once (campaign reminders); each is idempotent by its own key."""
        delivered = 0
        for notice in batch.notices:
            delivered += self._inbox.deliver(
                key=notice.key, recipient=notice.recipient, application_id=notice.application_id,
                event=notice.event, notice=self._compose(notice), created_at=notice.created_at)
        return delivered

    @activity.defn(name="record_milestones")
    def record_milestones(self, batch: MilestoneBatch) -> int:
        """Append a case's milestones to the statistics read model (keyed: a retry adds
        nothing); how many were new."""
        return self._milestones.append(batch.milestones)

    @activity.defn(name="purge_case")
    def purge_case(self, request: PurgeInput) -> int:
        """The retention period ended: delete the case's notices and document files, keep
        the register (number, hash, status) so the documents stay checkable. Idempotent."""
        removed = self._inbox.store.delete_for_application(request.application_id)
        for doc in self._register.for_application(request.application_id):
            removed += self._blobs.delete(doc.blob_key)
        activity.logger.info("case %s purged (%d items)", request.application_id, removed)
        return removed

    @activity.defn(name="revoke_document")
    def revoke_document(self, request: RevokeDocumentInput) -> None:
        """Mark a document revoked in the register, with the reason the public verify page
        shows. Idempotent: the same revocation again changes nothing; a document revoked
        otherwise or superseded is a non-retryable refusal."""
        try:
            self._register.revoke(request.document_id, reason=request.reason,
                                  actor=request.actor, at=request.at)
        except StatusConflict as exc:
            raise ApplicationError(f"document is already {exc.existing.status}",
                                   type="StatusConflict", non_retryable=True) from exc
        except DocumentNotFound as exc:
            raise ApplicationError("document is not in the register", type="DocumentNotFound",
                                   non_retryable=True) from exc

    @activity.defn(name="issue_document")
    def issue_document(self, request: IssueDocumentInput) -> DocumentRef:
        """Render, store and register one document; the same request yields the same document."""
        existing = self._register.get(request.document_id)
        if existing is not None:
            return _ref(existing)
        procedure = self._procedure(request.procedure, request.procedure_version,
                                    request.municipality)
        spec = procedure.definition.document(request.document_type)
        if spec is None:
            raise ApplicationError(f"procedure has no document {request.document_type!r}",
                                   type="unknown_document", non_retryable=True)
        # Numbered first, keyed by the document id: a retry (a crash before or after the
        # render) gets the same number, and no other document ever gets it.
        context = self._document_context(request, spec, procedure)
        if spec.include:
            # Declared values (include), evaluated from the case as the request holds it.
            context["values"], _ = included_values(
                procedure.definition, spec.include, application=request.data,
                steps=request.step_data, computed=request.computed,
                today=request.issued_at.astimezone(JST).date())
        if request.document_type in procedure.definition.issue_on_submit:
            context.update(self._copy_context(procedure, request))
        blob_key = f"documents/{request.document_id}.pdf"
        if self._blobs.exists(blob_key):
            pdf = self._blobs.get(blob_key)  # stored, but the worker died before registering
        else:
            pdf = self._produce_pdf(procedure, request, spec, context)
            self._blobs.put(blob_key, pdf)
        issued = IssuedDocument(
            id=request.document_id,
            application_id=request.application_id,
            procedure=request.procedure,
            procedure_version=request.procedure_version,
            municipality=request.municipality,
            document_type=request.document_type,
            title=spec.title.model_dump(),
            filename=spec.filename,
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
            blob_key=blob_key,
            issued_at=request.issued_at,
            holder_masked=_holder(request.data),
            certified=[CertifiedValue.model_validate(v)
                       for v in certified_values(spec.public, context)],
        )
        self._register.record(issued)
        if request.supersedes:
            # The earlier document stays verifiable, marked replaced: a certificate after a
            # re-survey, a 申請控え after a correction.
            reason = ("補正により差替え / replaced after a correction"
                      if request.document_type in procedure.definition.issue_on_submit
                      else "再調査により再交付 / reissued after a re-survey")
            self._register.supersede(request.supersedes, by=issued.id, actor="system",
                                     reason=reason, at=request.issued_at)
        activity.logger.info("document %s issued for %s", issued.id, issued.application_id)
        return _ref(issued)

    def _produce_pdf(self, procedure: Procedure, request: IssueDocumentInput,
                     spec: DocumentDefinition, context: dict[str, Any]) -> bytes:
        """Render, attach the application data, seal (PAdES) and timestamp (RFC 3161).

        A TSA or HSM that is down raises SealError: retried with backoff, the case waits."""
        template = procedure.directory / spec.template  # resources resolve beside it
        try:
            return self._issuer.issue(
                template.parent, template.name, context, document_id=request.document_id,
                title=spec.title.ja, municipality_code=request.municipality,
            )
        except (TemplateError, UnknownSealer) as exc:
            # A defect of the package or the configuration: retrying cannot fix it.
            raise ApplicationError(str(exc), type=type(exc).__name__,
                                   non_retryable=True) from exc

    def _document_context(self, request: IssueDocumentInput, spec: DocumentDefinition,
                          procedure: Procedure) -> dict[str, Any]:
        municipality = self._municipalities.get(request.municipality)
        if municipality is None:
            raise ApplicationError(f"unknown municipality {request.municipality}",
                                   type="unknown_municipality", non_retryable=True)
        issued_at = request.issued_at.astimezone(JST)
        number = None
        if spec.numbering is not None:
            series = f"{municipality_short_name(municipality.name.ja)}-{spec.numbering.series}"
            number = self._numbers.allocate(
                request.document_id, municipality=request.municipality, series=series,
                year=issued_at.year, digits=spec.numbering.digits).number
        contact = municipality.contact_for(procedure)  # its department, else the default
        context: dict[str, Any] = {
            "document": {
                "id": request.document_id, "title": spec.title.ja, "number": number,
                "legal_basis": spec.legal_basis.ja if spec.legal_basis else None,
                "guidance": [g.ja for g in spec.guidance],
            },
            "issued_at": issued_at,
            "application_id": request.application_id,
            "application_ref": spoken_reference(request.application_id),  # read on the phone
            "municipality": municipality.model_dump(mode="json"),
            "mayor": municipality.mayor.model_dump(mode="json") if municipality.mayor else None,
            "contact": contact.model_dump(mode="json") if contact else None,
            "seal_image": self._seal_image(municipality),
            "data": request.data,
            "computed": request.computed,
            "step_data": request.step_data,
        }
        # Each step's input is also available under its own name (e.g. ``survey``).
        for step, values in request.step_data.items():
            context.setdefault(step, values)
        # Municipal reference data the form points at by id (a 罹災証明書's disaster).
        event_id = request.data.get("disaster_event")
        event = next((e for e in municipality.disaster_events if e.id == event_id), None)
        if event is not None:
            context["disaster_event"] = event.model_dump(mode="json")
        return context

    def _seal_image(self, municipality: Municipality) -> str | None:
        if municipality.seal_image is None:
            return None
        try:
            return seal_image_data_url(self._catalog.roots, municipality.code,
                                       municipality.seal_image)
        except SealImageError as exc:
            raise ApplicationError(str(exc), type="seal_image", non_retryable=True) from exc

    def _copy_context(self, procedure: Procedure, request: IssueDocumentInput) -> dict[str, Any]:
        """What a 申請控え shows: the procedure, when it was filed, and every answer as the
        resident saw it on the check-answers page (labels and option texts, not codes)."""
        form = SchemaForm(procedure.form_schema, messages=procedure.messages,
                          municipality=self._municipalities.get(request.municipality))
        submitted = request.submitted_at or request.issued_at
        return {
            "procedure_title": procedure.definition.title.model_dump(),
            "submitted_at": submitted.astimezone(JST),
            "corrected": request.supersedes is not None,  # a copy after a correction (補正)
            "answers": [vars(a) for a in answers(form.all_fields(request.data), "ja")],
        }


    # ---- life events ---------------------------------------------------------------------

    @activity.defn(name="prepare_dependent_filing")
    async def prepare_dependent_filing(self, request: DependentFilingInput) -> DependentFiling:
        """A dependent procedure's form, as its upstream case now allows it to be filed.

        Re-reads the household and the public-funds account (they may have changed since
        the submission); a system that is down leaves the submission's snapshot standing,
        marked ``unverified``. The form is validated as a filing of the pinned procedure.

        :raises ApplicationError: ``dependent_filing_invalid`` (non-retryable) when the
            mapping fails or the procedure refuses the form: a defect of the definition.
        """
        offered = request.definition.offered(request.procedure)
        if offered is None:
            raise ApplicationError(f"the life event offers no {request.procedure}",
                                   type="dependent_filing_invalid", non_retryable=True)
        household, registry = await self._household(request)
        account, accounts = await self._account(request)
        bindings = life_event_bindings(
            request.definition, answers=request.answers, applicant=request.applicant_claims,
            household=household, account=account, events=request.events,
            today=request.today, case=request.case)
        try:
            data = map_form(offered, bindings)
        except ExpressionError as exc:
            activity.logger.error("bundle %s: %s form mapping failed", request.bundle_id,
                                  request.procedure)
            raise ApplicationError(str(exc), {"errors": []}, type="dependent_filing_invalid",
                                   non_retryable=True) from exc
        procedure = self._procedure(request.procedure, request.procedure_version,
                                    request.municipality)
        municipality = self._municipalities.get(request.municipality)
        if municipality is None:
            raise ApplicationError(f"unknown municipality {request.municipality}",
                                   type="unknown_municipality", non_retryable=True)
        result = await asyncio.to_thread(
            validate_application, procedure, municipality, data, owner=request.applicant_key,
            today=dt.date.fromisoformat(request.today), applicant=request.applicant_claims)
        if not result.valid:
            problems = [{"path": e.path, "code": e.code} for e in result.errors]
            # Paths and codes only: the messages may quote the values.
            activity.logger.error("bundle %s: %s refused its mapped form: %s",
                                  request.bundle_id, request.procedure,
                                  ", ".join(f"{p['path']} {p['code']}" for p in problems))
            raise ApplicationError("the procedure refused the mapped form",
                                   {"errors": problems}, type="dependent_filing_invalid",
                                   non_retryable=True)
        provenance = form_provenance(offered, request.answer_provenance,
                                     household_verified=registry == "verified" or (
                                         registry == "not_read"
                                         and bool(request.household.get("verified"))))
        if accounts == "unavailable":
            provenance = {k: "unverified" if v == "account" else v
                          for k, v in provenance.items()}
        return DependentFiling(data=data, provenance=provenance,  # type: ignore[arg-type]
                               registry=registry, account=accounts)

    async def _household(self, request: DependentFilingInput
                         ) -> tuple[dict[str, Any], Literal["verified", "unavailable",
                                                           "not_read"]]:
        snapshot = dict(request.household)
        if not snapshot.get("verified"):
            snapshot.update(typed_stand_ins(request.definition, "registry", "household",
                                            request.answers))
        if self._registry is None or request.registry_person is None:
            return snapshot, "not_read"
        try:
            record = await self._registry.person(request.registry_person)
        except AdapterUnavailable:
            activity.logger.warning("bundle %s: registry unavailable, snapshot used",
                                    request.bundle_id)
            return {**snapshot, "verified": False}, "unavailable"
        if record is None:
            return {**snapshot, "verified": False}, "unavailable"
        return {"verified": True, "size": len(record.members),
                "members": [m.model_dump(mode="json", exclude={"person_id"})
                            for m in record.members]}, "verified"

    async def _account(self, request: DependentFilingInput
                       ) -> tuple[dict[str, Any] | None, Literal["verified", "unavailable",
                                                                 "not_read"]]:
        snapshot = request.account
        if snapshot is None:
            snapshot = typed_stand_ins(request.definition, "account", "account",
                                       request.answers) or None
        if self._accounts is None or request.registry_person is None:
            return snapshot, "not_read"
        try:
            found = await self._accounts.account(request.registry_person)
        except AdapterUnavailable:
            activity.logger.warning("bundle %s: public-funds accounts unavailable, snapshot "
                                    "used", request.bundle_id)
            return snapshot, "unavailable"
        return (found.model_dump(mode="json") if found else None), "verified"


def _holder(data: dict[str, Any]) -> str | None:
    """The masked name the public verify page shows (the applicant or the business)."""
    names = ((data.get("applicant") or {}).get("name"),
             (data.get("business") or {}).get("representative"),
             (data.get("guardian") or {}).get("name"))
    for name in names:
        if isinstance(name, dict) and name.get("family"):
            return mask_name(name["family"], name.get("given"))
    return None


def _ref(doc: IssuedDocument) -> DocumentRef:
    return DocumentRef(id=doc.id, type=doc.document_type, title=doc.title,
                       filename=doc.filename, sha256=doc.sha256)
