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
        proxy=start.proxy, request_key=start.request_key,
    )
