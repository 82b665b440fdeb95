"""The messages that cross the Temporal boundary: workflow input, updates, queries, activities.

Each handler takes one model, so fields can be added later without breaking histories
(new fields get defaults). They hold personal data (names, addresses): the payload codec
encrypts them in history; never log them whole.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from forms.definition import ProcedureDefinition
from forms.lifeevents import LifeEventDefinition
from records.milestones import Milestone

Status = Literal[
    "in_progress",  # a caseworker stage is open
    "awaiting_applicant",  # an applicant stage is open (e.g. 実績報告, re-survey window)
    "awaiting_correction",  # 補正: waiting for the applicant, legal clock paused
    "issuing",  # decided; documents are being issued
    "completed",
    "rejected",
    "withdrawn",
    "closed",  # the correction deadline passed without an answer
]
#: The task queue of a default installation (settings.task_queue).
DEFAULT_TASK_QUEUE = "madoguchi-cases"

#: Where a form value came from: verified by the card or a municipal system, or declared by
#: the resident (typed, or a prefilled value they changed; ``unverified``: the system to
#: verify it was down, so the resident typed it).
Provenance = Literal["card", "registry", "account", "declared", "unverified"]

TERMINAL: frozenset[str] = frozenset({"completed", "rejected", "withdrawn", "closed"})


class Applicant(BaseModel):
    """Who filed: an opaque key (HMAC of issuer + subject) and a display name."""

    key: str
    name: str | None = None


class StartApplication(BaseModel):
    """Workflow input: the pinned definition and everything known at submission."""

    application_id: str
    definition: ProcedureDefinition
    municipality: str
    applicant: Applicant
    data: dict[str, Any]
    submitted_at: datetime
    lang: Literal["ja", "en"] = "ja"
    campaign_id: str | None = None  # 現況届 etc.: the campaign workflow to tell of this filing
    request_key: str | None = None  # HMAC of the client's Idempotency-Key: a retry is no duplicate
    proxy: dict[str, Any] | None = None  # 代理申請: who is represented, and the relationship
    bundle_id: str | None = None  # a life event's bundle (LifeEventWorkflow) this case is of
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    """JSON pointer into ``data`` -> where the value came from (absent: typed)."""


class Actor(BaseModel):
    """Who asks for an action, as the portal verified them."""

    kind: Literal["resident", "business", "caseworker"]
    subject: str
    applicant_key: str | None = None
    municipalities: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)
    name: str | None = None


class ActionRequest(BaseModel):
    """An Update: a caseworker decision or the applicant's correction or withdrawal."""

    action: str
    actor: Actor
    comment: str | None = Field(default=None, max_length=4000)
    data: dict[str, Any] | None = None


class RevocationRequest(BaseModel):
    """An Update: ask for the revocation of a document the case issued (``confirm`` False),
    or confirm another caseworker's request (``confirm`` True)."""

    document_id: str
    actor: Actor
    reason: str | None = Field(default=None, max_length=1000)
    confirm: bool = False


class Revocation(BaseModel):
    """A revocation of one of the case's documents: asked for, then confirmed."""

    document_id: str
    reason: str
    requested_by: str
    requested_at: datetime
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None


class RevokeDocumentInput(BaseModel):
    """Activity input: mark a document revoked in the register (idempotent)."""

    document_id: str
    reason: str
    actor: str
    at: datetime


class TimelineEntry(BaseModel):
    at: datetime
    event: str
    stage: str
    actor: str | None = None  # "applicant", "system" or a caseworker's subject
    action: str | None = None
    comment: str | None = None


class DocumentRef(BaseModel):
    id: str
    type: str
    title: dict[str, str]
    filename: str
    sha256: str


class ApplicationView(BaseModel):
    """What a Query returns: the case as the portal shows it (before authorization)."""

    application_id: str
    procedure: str
    procedure_version: str
    municipality: str
    applicant_key: str
    applicant_name: str | None
    status: Status
    stage: str
    assignee: str | None
    submitted_at: datetime
    due_at: datetime | None
    correction_due_at: datetime | None
    correction_comment: str | None
    data: dict[str, Any]
    step_data: dict[str, dict[str, Any]]
    computed: dict[str, Any]
    actors: dict[str, str]  # action id -> caseworker subject who took it last
    timeline: list[TimelineEntry]
    documents: list[DocumentRef]
    escalated: bool
    correction_target: str | None = None  # the action whose data a correction replaces
    stage_due_at: datetime | None = None  # an applicant stage's own deadline
    proxy: dict[str, Any] | None = None
    request_key: str | None = None
    purged: bool = False  # the retention period ended: notices and files are gone
    revocations: list[Revocation] = Field(default_factory=list)
    bundle_id: str | None = None
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    amendments: int = 0  # how often a bundle's upstream case changed this case's form


class NoticeInput(BaseModel):
    """Activity input: one notice to one recipient, idempotent by ``key``."""

    key: str
    application_id: str
    procedure: str
    procedure_version: str
    event: str
    recipient: str
    params: dict[str, str]
    created_at: datetime
    values: dict[str, Any] = {}  # the notice's declared 'include' values (JSON)
    channel: str = "inbox"
    municipality: str | None = None
    lang: Literal["ja", "en"] | None = None
    # The case's statistics milestones not yet recorded: they ride on the notice the
    # transition sends anyway (issue #20: no activity of their own).
    milestones: list[Milestone] = Field(default_factory=list)


class NoticeChannelsInput(BaseModel):
    """Activity input: which channels reach this recipient for this notice, now."""

    recipient: str
    wanted: list[str]
    municipality: str | None = None


class IssueDocumentInput(BaseModel):
    """Activity input: render and store one document of a case, idempotent by its id."""

    document_id: str
    document_type: str
    application_id: str
    procedure: str
    procedure_version: str
    municipality: str
    issued_at: datetime
    data: dict[str, Any]
    step_data: dict[str, dict[str, Any]]
    computed: dict[str, Any]
    supersedes: str | None = None  # the document this one replaces (e.g. after 再調査)
    submitted_at: datetime | None = None  # when the case was filed (a 申請控え shows it)


class CampaignFiling(BaseModel):
    """Signal to a campaign workflow: this applicant has filed."""

    applicant_key: str
    application_id: str


class BatchNoticeInput(BaseModel):
    """Activity input: the same notice to many recipients (campaign reminders)."""

    notices: list[NoticeInput]


class PurgeInput(BaseModel):
    """Activity input: forget a finished case's notices and document files."""

    application_id: str


def initial_view(start: StartApplication, now: datetime) -> ApplicationView:
    """The case as ``ProcedureWorkflow`` holds it right after ``@workflow.init`` at ``now``.

    The portal answers a filing with it instead of querying the new case, which would wait
    for a worker's first workflow task (and time out under load, though the case exists).
    A test keeps it equal to what the workflow reports.
    """
    definition = start.definition
    stage = definition.initial_stage
    return ApplicationView(
        application_id=start.application_id, procedure=definition.id,
        procedure_version=definition.version, municipality=start.municipality,
        applicant_key=start.applicant.key, applicant_name=start.applicant.name,
        status="in_progress", stage=stage, assignee=None, submitted_at=now,
        due_at=now + timedelta(days=definition.processing_period.days),
        correction_due_at=None, correction_comment=None, data=dict(start.data), step_data={},
        computed={}, actors={}, escalated=False, documents=[],
        timeline=[TimelineEntry(at=now, event="submitted", stage=stage, actor="applicant")],
        proxy=start.proxy, request_key=start.request_key, bundle_id=start.bundle_id,
        provenance=dict(start.provenance),
    )


# ---- life events (LifeEventWorkflow) ---------------------------------------------------

#: Where one procedure of a bundle stands, as the bundle knows it.
MemberState = Literal[
    "filed",  # its case runs (application_id set)
    "waiting",  # a dependent procedure, waiting for its upstream case
    "not_filed",  # its dependency's condition did not hold (reason says why)
    "not_selected",  # eligible, but the resident did not tick it
    "not_eligible",  # the life event's eligibility expression was false (reason says why)
    "withdrawn",  # withdrawn before it was filed (the bundle, or its upstream, withdrawn)
    "failed",  # the dependent filing could not be prepared (a defect: reason says which)
]


class BundleMemberStart(BaseModel):
    """One procedure of a bundle as the portal decided it at submission."""

    procedure: str
    title: dict[str, str]
    state: Literal["filed", "waiting", "not_selected", "not_eligible"]
    definition: ProcedureDefinition | None = None  # pinned (with the overlay): filed/waiting
    data: dict[str, Any] | None = None  # the mapped form: filed now (None: dependent)
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    reason: dict[str, str] | None = None  # ja/en: why it applies, or why not


class StartBundle(BaseModel):
    """Workflow input of a life event's bundle: everything known at submission."""

    bundle_id: str
    definition: LifeEventDefinition
    municipality: str
    applicant: Applicant
    household_key: str | None = None  # HMAC of the registry's household id: who may see it
    household: dict[str, Any] = Field(default_factory=dict)  # as expressions see it
    account: dict[str, Any] | None = None  # 公金受取口座 as read at submission
    registry_person: str | None = None  # the registry's person id (re-read at a dependent start)
    events: dict[str, Any] = Field(default_factory=dict)  # the municipality's disaster events
    applicant_claims: dict[str, Any] = Field(default_factory=dict)  # verified sign-in claims
    answers: dict[str, Any]
    provenance: dict[str, Provenance] = Field(default_factory=dict)  # of the answers
    members: list[BundleMemberStart]
    submitted_at: datetime
    lang: Literal["ja", "en"] = "ja"
    request_key: str | None = None


class CaseReport(BaseModel):
    """Signal from a case to its bundle: it issued a document, or its status changed to
    one a dependency or the status page cares about (issuing, terminal)."""

    application_id: str
    procedure: str
    status: Status
    stage: str
    document: str | None = None  # the document type just issued, if that is the news
    documents: list[DocumentRef] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    step_data: dict[str, dict[str, Any]] = Field(default_factory=dict)
    computed: dict[str, Any] = Field(default_factory=dict)


class Amendment(BaseModel):
    """Signal from a bundle to a dependent case: its upstream case changed the mapped form
    (e.g. a re-survey changed the damage grade)."""

    data: dict[str, Any]
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    reason: dict[str, str]  # ja/en, shown in the case's timeline
    upstream_application_id: str


class BundleMember(BaseModel):
    procedure: str
    title: dict[str, str]
    state: MemberState
    application_id: str | None = None  # the newest filing of this procedure
    filings: list[str] = Field(default_factory=list)  # every filing (a new decision adds one)
    reason: dict[str, str] | None = None  # ja/en
    waits_for: dict[str, str] | None = None  # ja/en: what a waiting member waits for
    status: Status | None = None  # as last reported by its case
    stage: str | None = None
    documents: list[DocumentRef] = Field(default_factory=list)
    computed: dict[str, Any] = Field(default_factory=dict)


class BundleView(BaseModel):
    """What the bundle's Query returns (before authorization)."""

    bundle_id: str
    life_event: str
    life_event_version: str
    title: dict[str, str]
    municipality: str
    applicant_key: str
    applicant_name: str | None
    household_key: str | None
    submitted_at: datetime
    status: Literal["open", "closed"]  # closed: every member ended or was not filed
    members: list[BundleMember]
    answers: dict[str, Any]
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    request_key: str | None = None  # StartBundle.request_key: a retried submission is no duplicate


class BundleWithdrawal(BaseModel):
    """Update of a bundle: the applicant withdraws every procedure not yet filed (the
    service withdraws the filed cases one by one)."""

    actor: Actor
    procedure: str | None = None  # one waiting procedure only (None: every one not yet filed)


class DependentFilingInput(BaseModel):
    """Activity input (``prepare_dependent_filing``): a dependent procedure's form, from the
    bundle's facts and its upstream case as just reported."""

    bundle_id: str
    procedure: str
    procedure_version: str  # the member's pinned definition
    municipality: str
    applicant_key: str
    definition: LifeEventDefinition  # the bundle's pinned life event (params, prefill, form)
    answers: dict[str, Any]
    answer_provenance: dict[str, Provenance] = Field(default_factory=dict)
    applicant_claims: dict[str, Any] = Field(default_factory=dict)
    household: dict[str, Any] = Field(default_factory=dict)  # the snapshot at submission
    account: dict[str, Any] | None = None  # the snapshot at submission
    registry_person: str | None = None  # re-read now, when set
    events: dict[str, Any] = Field(default_factory=dict)
    case: dict[str, Any]  # the upstream case as expressions see it (forms.lifeevents)
    today: str  # the date in Japan, from workflow time


class DependentFiling(BaseModel):
    """What ``prepare_dependent_filing`` returns: the form to file, and where its values
    came from (``unverified``: a system was down and the submission's snapshot stood in)."""

    data: dict[str, Any]
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    registry: Literal["verified", "unavailable", "not_read"] = "not_read"
    account: Literal["verified", "unavailable", "not_read"] = "not_read"
