"""Request and response bodies of the HTTP API (separate from the domain models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from identity.principals import AnyPrincipal, Caseworker
from records.deliveries import DeliveryRecord
from services.cases import CaseDetails, WaitingOn
from services.counter import CounterSummary, counter_summary
from workflows.models import BundleMember, BundleView


class ApplicationIn(BaseModel):
    procedure: str = Field(examples=["disaster-certificate"], max_length=64)
    municipality: str = Field(examples=["131016"], pattern=r"^\d{6}$")
    data: dict[str, Any]
    lang: Literal["ja", "en"] = "ja"
    proxy: dict[str, Any] | None = Field(
        default=None, description="代理申請: the represented person and the relationship",
        examples=[{"name": "山田 トメ", "name_kana": "ヤマダ トメ", "birthdate": "1938-04-02",
                   "relationship": "child"}])
    assisted_code: str | None = Field(
        default=None, max_length=32,
        description="デジタル活用支援員's code when a helper helped (recorded, not a proxy)")


class ActionIn(BaseModel):
    action: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    comment: str | None = Field(default=None, max_length=4000)
    data: dict[str, Any] | None = None


class TimelineOut(BaseModel):
    at: datetime
    event: str
    stage: str
    actor: str | None
    comment: str | None


class DocumentOut(BaseModel):
    id: str
    type: str
    title: dict[str, str]
    filename: str
    sha256: str
    url: str


class CorrectionOut(BaseModel):
    due_at: datetime | None
    comment: str | None


class ApplicationOut(BaseModel):
    id: str
    procedure: str
    procedure_version: str
    municipality: str
    status: str
    stage: str
    assignee: str | None
    submitted_at: datetime
    due_at: datetime | None
    correction: CorrectionOut | None
    data: dict[str, Any]
    step_data: dict[str, dict[str, Any]]
    computed: dict[str, Any]
    proxy: dict[str, Any] | None = None
    timeline: list[TimelineOut]
    documents: list[DocumentOut]
    actions: list[str]
    waiting_on: list[WaitingOn] = []  # caseworkers: side effects being retried, and why
    deliveries: list[DeliveryRecord] = []  # caseworkers: each notice's status per channel
    counter: CounterSummary | None = None  # filed at a counter (窓口): by whom, where, how
    assisted_by: str | None = None  # caseworkers: the digital-support helper who helped
    url: str

    @classmethod
    def build(cls, details: CaseDetails, viewer: AnyPrincipal,
              deliveries: list[DeliveryRecord] | None = None) -> ApplicationOut:
        view = details.view
        resident = not isinstance(viewer, Caseworker)  # the applicant: resident or business

        def who(actor: str | None) -> str | None:
            # Residents see that the municipality acted, not which employee.
            if resident and actor not in (None, "applicant", "system"):
                return "municipality"
            return actor

        return cls(
            id=view.application_id,
            procedure=view.procedure,
            procedure_version=view.procedure_version,
            municipality=view.municipality,
            status=view.status,
            stage=view.stage,
            assignee=None if resident else view.assignee,
            submitted_at=view.submitted_at,
            due_at=view.due_at,
            correction=(
                CorrectionOut(due_at=view.correction_due_at, comment=view.correction_comment)
                if view.status == "awaiting_correction"
                else None
            ),
            data=view.data,
            step_data={} if resident else view.step_data,
            computed=view.computed,
            proxy=view.proxy,
            timeline=[
                TimelineOut(
                    at=t.at, event=t.event, stage=t.stage, actor=who(t.actor), comment=t.comment
                )
                for t in view.timeline
            ],
            documents=[
                DocumentOut(**d.model_dump(), url=f"/api/documents/{d.id}") for d in view.documents
            ],
            actions=details.actions,
            waiting_on=[] if resident else details.waiting_on,
            deliveries=[] if resident else list(deliveries or []),
            counter=counter_summary(view.counter, staff_visible=not resident)
            if view.counter is not None else None,
            assisted_by=None if resident else view.assisted_by,
            url=f"/api/applications/{view.application_id}",
        )


# ---- life events (#18) --------------------------------------------------------------------


class LifeEventAnswersIn(BaseModel):
    municipality: str = Field(examples=["131016"], pattern=r"^\d{6}$")
    answers: dict[str, Any]


class BundleIn(LifeEventAnswersIn):
    selected: list[str] = Field(default_factory=list, max_length=32,
                                description="The procedures ticked (the required ones are "
                                "filed whatever this says)")
    lang: Literal["ja", "en"] = "ja"
    proxy: dict[str, Any] | None = Field(
        default=None, description="Refused: a life event is filed by the resident themselves")


class BundleWithdrawIn(BaseModel):
    procedure: str | None = Field(default=None, max_length=64,
                                  description="One procedure, or null for all of them")


class BundleOut(BaseModel):
    """A bundle as its applicant reads it right after filing (no internal keys)."""

    bundle_id: str
    life_event: str
    life_event_version: str
    title: dict[str, str]
    municipality: str
    status: Literal["open", "closed"]
    submitted_at: datetime
    members: list[BundleMember]

    @classmethod
    def build(cls, view: BundleView) -> BundleOut:
        return cls.model_validate(view.model_dump(include=set(cls.model_fields)))
