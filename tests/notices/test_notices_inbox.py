"""InboxChannel and the channel registry."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from notices import (
    PermanentDeliveryError,
    TransientDeliveryError,
)
from notices.compose import compose_notice
from notices.inbox import InboxChannel
from records.db import create_schema, make_engine
from records.inbox import InboxStore

MESSAGES = {
    "ja": {
        "notice.correction_requested.title": "補正のお願い（{reference}）",
        "notice.correction_requested.body": "{deadline}までに補正してください。理由：{reason}",
    },
    "en": {
        "notice.correction_requested.title": "Correction requested ({reference})",
        "notice.correction_requested.body": "Please correct by {deadline}. Reason: {reason}",
    },
}
T0 = datetime(2026, 4, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'records.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def channel(engine):
    return InboxChannel(InboxStore(engine))


def notice():
    return compose_notice(
        MESSAGES,
        "correction_requested",
        {"reference": "R-2026-0001", "deadline": "2026-04-17", "reason": "写真が不鮮明"},
    )


def deliver(channel, key="wf-1:correction_requested:0", **changes):
    kwargs = {
        "key": key,
        "recipient": "applicant:res-7f3a",
        "application_id": "wf-1",
        "event": "correction_requested",
        "notice": notice(),
        "created_at": T0,
    }
    return channel.deliver(**(kwargs | changes))


def test_deliver_puts_the_notice_in_the_inbox_once(channel):
    assert deliver(channel) is True
    assert deliver(channel) is False  # the activity retried
    [entry] = channel.store.for_recipient("applicant:res-7f3a")
    assert entry.key == "wf-1:correction_requested:0"
    assert entry.title == {
        "ja": "補正のお願い（R-2026-0001）",
        "en": "Correction requested (R-2026-0001)",
    }
    assert entry.body["ja"] == "2026-04-17までに補正してください。理由：写真が不鮮明"
    assert entry.created_at == T0
    assert entry.read is False
    assert channel.store.for_application("wf-1") == [entry]


def test_concurrent_deliveries_of_one_key_insert_once(channel):
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def run() -> None:
        barrier.wait()
        results.append(deliver(channel))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert len(channel.store.for_recipient("applicant:res-7f3a")) == 1


def test_created_at_is_stored_in_utc(channel):
    jst = timezone(timedelta(hours=9))
    deliver(channel, created_at=datetime(2026, 4, 3, 10, 0, tzinfo=jst))
    [entry] = channel.store.for_recipient("applicant:res-7f3a")
    assert entry.created_at == T0
    assert entry.created_at.tzinfo == UTC


@pytest.mark.parametrize(
    "change",
    [{"recipient": "someone"}, {"created_at": datetime(2026, 4, 3, 10, 0)}, {"key": ""}],
)
def test_invalid_delivery_is_permanent_and_does_not_echo_input(channel, change):
    with pytest.raises(PermanentDeliveryError) as excinfo:
        deliver(channel, **change)
    assert "写真" not in str(excinfo.value)
    assert excinfo.value.__cause__ is None
    assert channel.store.for_recipient("applicant:res-7f3a") == []


def test_missing_schema_is_reported_by_check_config(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        channel = InboxChannel(InboxStore(engine))
        with pytest.raises(PermanentDeliveryError, match="inbox store"):
            channel.check_config()
        create_schema(engine)
        channel.check_config()
    finally:
        engine.dispose()


def test_locked_database_is_a_transient_failure(tmp_path, monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 'records.db'}")
    create_schema(engine)
    # A short busy_timeout for the waiting engine, so the test does not wait 5 s.
    monkeypatch.setattr("records.db.SQLITE_BUSY_TIMEOUT_MS", 50)
    waiting = make_engine(f"sqlite:///{tmp_path / 'records.db'}")
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the lock
            with pytest.raises(TransientDeliveryError, match="locked"):
                deliver(InboxChannel(InboxStore(waiting)))
            holder.rollback()
        assert deliver(InboxChannel(InboxStore(waiting))) is True
    finally:
        waiting.dispose()
        engine.dispose()


def test_every_channel_class_is_named_as_the_dispatcher_lists_it():
    from notices.dispatch import CHANNELS
    from notices.email import EmailChannel
    from notices.push import PushChannel
    from notices.webhook import WebhookChannel

    classes = (InboxChannel, EmailChannel, PushChannel, WebhookChannel)
    assert tuple(c.channel_id for c in classes) == CHANNELS
