"""A case's milestones for the statistics read model, derived from its timeline.

Pure (pydantic, no database): workflow code imports it. One pure function serves both
writers: the workflow (which hands new milestones to the
``record_milestones`` local activity) and ``madoguchi stats rebuild`` (which reads each
case's ``view`` query). Same input, same milestones, same keys: a retry or a rebuild never
counts twice. Nothing personal: the opaque application id, codes, times, outcomes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CHANNELS",
    "CaseFacts",
    "Channel",
    "Milestone",
    "MilestoneBatch",
    "MilestoneKind",
    "channel_of",
    "disaster_event_of",
    "milestones_of",
]

Channel = Literal["online", "proxy", "counter", "life_event"]
CHANNELS: tuple[Channel, ...] = ("online", "proxy", "counter", "life_event")
MilestoneKind = Literal["filed", "first_action", "action", "correction_requested",
                        "correction_answered", "decided", "withdrawn", "issued"]
Outcome = Literal["approved", "rejected", "closed", "withdrawn"]

#: Timeline events that never decide a case (they come after, or beside, a decision).
_NOT_DECISIVE = frozenset({"issued", "document_failed", "revocation_requested", "revoked",
                           "deadline_reminder", "deadline_escalation", "stage_reminder",
                           "amended"})
_OUTCOMES: dict[str, Outcome] = {"completed": "approved", "rejected": "rejected",
                                 "closed": "closed", "withdrawn": "withdrawn"}


class TimelineEntry(Protocol):
    """What is read of a case's timeline entry (``workflows.models.TimelineEntry``)."""

    @property
    def at(self) -> datetime: ...
    @property
    def event(self) -> str: ...
    @property
    def stage(self) -> str: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def comment(self) -> str | None: ...


class CaseFacts(BaseModel):
    """What every milestone row of a case carries (codes only, no personal data)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    application_id: str
    procedure: str
    municipality: str
    channel: Channel
    disaster_event: str | None = None
    standard_days: int  # 標準処理期間 of the pinned definition, calendar days


class Milestone(BaseModel):
    """One row of the read model; ``key`` is unique within the case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    application_id: str
    key: str
    kind: MilestoneKind
    at: datetime
    procedure: str
    municipality: str
    channel: Channel
    disaster_event: str | None = None
    standard_days: int
    stage: str | None = None
    outcome: Outcome | None = None


def channel_of(start: Any) -> Channel:
    """How the case was filed: at the counter (#19's ``filed_by``/``channel``), in a life
    event's bundle, by a proxy, else online. Reads what a StartApplication or an
    ApplicationView holds."""
    for name in ("channel", "filed_by"):
        value = getattr(start, name, None)
        value = getattr(value, "kind", value)
        if value == "counter":
            return "counter"
    if getattr(start, "bundle_id", None):
        return "life_event"
    if getattr(start, "proxy", None):
        return "proxy"
    return "online"


def disaster_event_of(data: dict[str, Any]) -> str | None:
    """The disaster event a case is about (a code such as ``2026-typhoon-10``), if any."""
    value = data.get("disaster_event")
    return value if isinstance(value, str) and value else None


def milestones_of(facts: CaseFacts, timeline: Sequence[TimelineEntry], status: str,
                  final_outcome: str | None = None,
                  copies: Collection[str] = ()) -> list[Milestone]:
    """Every milestone the timeline shows so far.

    :param status: the case's status now; ``issuing`` counts as decided with
        ``final_outcome`` (approved unless it is ``rejected``).
    :param copies: ids of the documents that are copies of the filing (申請控え): they
        are no decision's document, and no ``issued`` milestone.

    The decision is the caseworker action after which the first document (other than a
    copy of the filing) was issued, else the last decisive entry of a case that ended.
    """
    common = facts.model_dump()
    out: list[Milestone] = []

    def add(kind: MilestoneKind, index: int, entry: TimelineEntry,
            outcome: Outcome | None = None) -> None:
        key = "filed" if kind == "filed" else f"{kind}:{index}"
        out.append(Milestone(key=key, kind=kind, at=entry.at, stage=entry.stage,
                             outcome=outcome, **common))

    first_action_seen = False
    for index, entry in enumerate(timeline):
        if entry.event == "submitted" and index == 0:
            add("filed", index, entry)
        elif entry.event == "correction_requested":
            add("correction_requested", index, entry)
        elif entry.event == "correction_submitted":
            add("correction_answered", index, entry)
        elif entry.event == "withdrawn":
            add("withdrawn", index, entry)
        elif entry.event == "issued" and entry.comment not in copies:
            add("issued", index, entry)
        if _by_caseworker(entry):
            if not first_action_seen:
                first_action_seen = True
                add("first_action", index, entry)
            add("action", index, entry)
    issued_after = _issuing_action(timeline, copies)
    decided = _decision(status, final_outcome)
    if issued_after is not None:
        # The first document a caseworker's decision issued (a 罹災証明書 stays open for a
        # re-survey after it): the decision, once and for good.
        outcome: Outcome = "rejected" if decided == "rejected" else "approved"
        add("decided", issued_after, timeline[issued_after], outcome)
    elif decided is not None:
        index = _decisive_index(timeline)
        if index is not None:
            add("decided", index, timeline[index], decided)
    return out


def _issuing_action(timeline: Sequence[TimelineEntry], copies: Collection[str]) -> int | None:
    """The caseworker action the first issued document (not a 申請控え) followed."""
    last_action: int | None = None
    for index, entry in enumerate(timeline):
        if entry.event == "issued" and entry.comment not in copies:
            if last_action is not None:
                return last_action
        elif entry.actor == "applicant":
            last_action = None
        elif _by_caseworker(entry) and entry.event != "claimed":
            last_action = index
    return None


def _by_caseworker(entry: TimelineEntry) -> bool:
    return entry.actor not in (None, "applicant", "system") and entry.event not in (
        "revocation_requested", "revoked")


def _decision(status: str, final_outcome: str | None) -> Outcome | None:
    if status == "issuing":
        return "rejected" if final_outcome == "rejected" else "approved"
    return _OUTCOMES.get(status)


def _decisive_index(timeline: Sequence[TimelineEntry]) -> int | None:
    for index in range(len(timeline) - 1, -1, -1):
        if timeline[index].event not in _NOT_DECISIVE:
            return index
    return None


class MilestoneBatch(BaseModel):
    """The input of the ``record_milestones`` activity: a case's new milestones."""

    milestones: list[Milestone]
