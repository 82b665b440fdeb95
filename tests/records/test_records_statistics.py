"""The statistics read model on SQLite and PostgreSQL: milestones keyed so that a retried
activity or a rebuild over a live table never counts twice, and nothing personal stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect

from records.milestones import CaseFacts, milestones_of
from records.statistics import MilestoneStore
from workflows.models import TimelineEntry

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def _timeline() -> list[TimelineEntry]:
    def at(hours: float, event: str, actor: str, stage: str = "review") -> TimelineEntry:
        return TimelineEntry(at=T0 + timedelta(hours=hours), event=event, stage=stage,
                             actor=actor)
    return [at(0, "submitted", "applicant"), at(2, "claimed", "cw-1"),
            at(3, "correction_requested", "cw-1"), at(30, "correction_submitted", "applicant"),
            at(50, "approve", "cw-1"), at(51, "issued", "system", "completed")]


FACTS = CaseFacts(application_id="wf-abc", procedure="disaster-certificate",
                  municipality="131016", channel="online", disaster_event="2026-typhoon-10",
                  standard_days=30)


def test_a_retried_or_repeated_append_counts_each_milestone_once(engine):
    store = MilestoneStore(engine)
    first = milestones_of(FACTS, _timeline()[:3], "awaiting_correction")
    # filed; the claim: first action and an action; the request: an action and a correction
    assert store.append(first) == 5
    everything = milestones_of(FACTS, _timeline(), "completed")
    assert store.append(everything) == len(everything) - 5  # the earlier ones are kept
    assert store.append(everything) == 0
    stored = list(store.all())
    assert [m.key for m in stored] == [m.key for m in sorted(everything,
                                                             key=lambda m: (m.at, m.key))]
    assert {m.kind for m in stored} == {"filed", "first_action", "action",
                                        "correction_requested", "correction_answered",
                                        "decided", "issued"}
    decided = next(m for m in stored if m.kind == "decided")
    assert (decided.outcome, decided.at) == ("approved", T0 + timedelta(hours=50))
    assert all(m.at.tzinfo is not None for m in stored)


def test_rows_of_other_municipalities_stay_apart_and_clear_empties_the_table(engine):
    store = MilestoneStore(engine)
    store.append(milestones_of(FACTS, _timeline(), "completed"))
    other = FACTS.model_copy(update={"application_id": "wf-def", "municipality": "132012"})
    store.append(milestones_of(other, _timeline()[:1], "in_progress"))
    assert {m.application_id for m in store.all("132012")} == {"wf-def"}
    assert store.clear() == len(list(milestones_of(FACTS, _timeline(), "completed"))) + 1
    assert list(store.all()) == []


def test_the_table_has_no_column_for_personal_data(engine):
    columns = {c["name"] for c in inspect(engine).get_columns("case_milestones")}
    assert columns == {"application_id", "key", "kind", "at", "procedure", "municipality",
                       "channel", "disaster_event", "standard_days", "stage", "outcome"}
