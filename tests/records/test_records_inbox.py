"""InboxStore on SQLite and PostgreSQL (tests/records/conftest.py): idempotent adds,
ordering, read flags."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from records.db import inbox_entries, make_engine
from records.inbox import InboxEntry, InboxStore

T0 = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def store(engine):
    return InboxStore(engine)


def entry(key: str, *, minutes: int = 0, recipient: str = "applicant:res-7f3a", **kw) -> InboxEntry:
    return InboxEntry(
        key=key,
        recipient=recipient,
        application_id=kw.pop("application_id", "wf-disaster-certificate-1"),
        event=kw.pop("event", "submitted"),
        title={"ja": "申請を受け付けました", "en": "Application received"},
        body={"ja": "受付番号 R-0001", "en": "Reference R-0001"},
        created_at=T0 + timedelta(minutes=minutes),
        **kw,
    )


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(inbox_entries)).scalar_one()


def test_add_is_idempotent(store, engine):
    assert store.add(entry("wf-1:submitted:0")) is True
    assert store.add(entry("wf-1:submitted:0")) is False
    assert count(engine) == 1


def test_a_retry_with_other_content_changes_nothing(store):
    store.add(entry("wf-1:submitted:0"))
    store.mark_read("applicant:res-7f3a", "wf-1:submitted:0")
    assert store.add(entry("wf-1:submitted:0", minutes=5, event="issued")) is False
    [stored] = store.for_recipient("applicant:res-7f3a")
    assert stored.event == "submitted"
    assert stored.created_at == T0
    assert stored.read is True  # a retried delivery does not un-read a notice


def test_concurrent_adds_of_one_key_leave_one_row(store, engine):
    barrier = threading.Barrier(8)
    results: list[bool] = []
    lock = threading.Lock()

    def add() -> None:
        barrier.wait()
        inserted = store.add(entry("wf-1:issued:0"))
        with lock:
            results.append(inserted)

    threads = [threading.Thread(target=add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert count(engine) == 1


def test_concurrent_adds_from_two_engines_on_one_file(db_url, engine):
    # The worker and the portal are separate processes with separate engines.
    other = make_engine(db_url)
    try:
        stores = [InboxStore(engine), InboxStore(other)]
        barrier = threading.Barrier(8)
        results: list[bool] = []

        def add(i: int) -> None:
            barrier.wait()
            for n in range(10):
                results.append(stores[i % 2].add(entry(f"wf-{n}:submitted:0", minutes=n)))

        threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(True) == 10
        assert count(engine) == 10
    finally:
        other.dispose()


def test_for_recipient_is_newest_first_limited_and_private(store):
    for minutes in (5, 0, 30, 10):
        store.add(entry(f"wf-1:e:{minutes}", minutes=minutes))
    store.add(entry("wf-2:e:0", minutes=60, recipient="applicant:someone-else"))

    newest = store.for_recipient("applicant:res-7f3a")
    assert [e.key for e in newest] == ["wf-1:e:30", "wf-1:e:10", "wf-1:e:5", "wf-1:e:0"]
    assert [e.key for e in store.for_recipient("applicant:res-7f3a", limit=2)] == [
        "wf-1:e:30",
        "wf-1:e:10",
    ]
    assert store.for_recipient("applicant:nobody") == []
    with pytest.raises(ValueError):
        store.for_recipient("applicant:res-7f3a", limit=0)


def test_entries_round_trip_whole_and_in_utc(store):
    jst = timezone(timedelta(hours=9))
    original = InboxEntry(
        key="wf-9:correction_requested:0",
        recipient="applicant:res-7f3a",
        application_id="wf-9",
        event="correction_requested",
        title={"ja": "補正のお願い", "en": "Correction requested"},
        body={"ja": "写真を追加してください。", "en": "Please add photos."},
        created_at=datetime(2026, 4, 1, 18, 0, tzinfo=jst),
    )
    assert original.created_at.tzinfo == UTC
    store.add(original)
    [stored] = store.for_recipient("applicant:res-7f3a")
    assert stored == original
    assert stored.created_at == datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    assert stored.created_at.tzinfo == UTC


def test_for_application_spans_recipients(store):
    store.add(entry("wf-1:submitted:0", minutes=0))
    store.add(entry("wf-1:deadline_reminder:0", minutes=10, recipient="municipality:042021"))
    store.add(entry("wf-2:submitted:0", minutes=20, application_id="wf-2"))
    found = store.for_application("wf-disaster-certificate-1")
    assert [(e.key, e.recipient) for e in found] == [
        ("wf-1:deadline_reminder:0", "municipality:042021"),
        ("wf-1:submitted:0", "applicant:res-7f3a"),
    ]


def test_mark_read_only_for_the_recipient(store):
    store.add(entry("wf-1:submitted:0"))
    assert store.mark_read("applicant:intruder", "wf-1:submitted:0") is False
    assert store.for_recipient("applicant:res-7f3a")[0].read is False
    assert store.mark_read("applicant:res-7f3a", "wf-1:submitted:0") is True
    assert store.mark_read("applicant:res-7f3a", "wf-1:submitted:0") is True
    assert store.mark_read("applicant:res-7f3a", "no-such-key") is False
    assert store.for_recipient("applicant:res-7f3a")[0].read is True


@pytest.mark.parametrize(
    "change",
    [
        {"created_at": datetime(2026, 4, 1, 9, 0)},  # naive
        {"recipient": "res-7f3a"},
        {"recipient": "applicant:"},
        {"recipient": "caseworker:cw-1"},
        {"key": ""},
        {"unexpected": "field"},
    ],
)
def test_invalid_entries_are_refused(change):
    fields = entry("k").model_dump() | change
    with pytest.raises(ValidationError):
        InboxEntry(**fields)
