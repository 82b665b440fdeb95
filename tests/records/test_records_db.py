"""The read-model store: engine settings, schema, UTC datetimes, insert-or-ignore; on
SQLite and PostgreSQL (tests/records/conftest.py) except for SQLite's own settings."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from records.db import (
    create_schema,
    inbox_entries,
    insert_ignore,
    make_engine,
    metadata,
)


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'records.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


def _row(key: str, created_at: datetime) -> dict:
    return {
        "key": key,
        "recipient": "applicant:a1",
        "application_id": "app-1",
        "event": "submitted",
        "title": {"ja": "受付", "en": "Received"},
        "body": {"ja": "本文", "en": "Body"},
        "created_at": created_at,
        "read": False,
    }


def test_sqlite_connections_use_wal_and_busy_timeout(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_create_schema_is_idempotent_and_creates_tables_and_indexes(engine):
    create_schema(engine)
    create_schema(engine)
    inspector = inspect(engine)
    assert {"inbox_entries", "issued_documents"} <= set(inspector.get_table_names())
    index_names = {ix["name"] for ix in inspector.get_indexes("inbox_entries")}
    assert "ix_inbox_entries_recipient_created_at" in index_names
    assert {"inbox_entries", "issued_documents"} <= set(metadata.tables)


def test_datetimes_come_back_aware_utc_and_naive_ones_are_refused(engine):
    jst = timezone(timedelta(hours=9))
    written = datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=jst)
    with engine.begin() as conn:
        assert insert_ignore(conn, inbox_entries, _row("k1", written))
    with engine.connect() as conn:
        stored = conn.execute(select(inbox_entries.c.created_at)).scalar_one()
    assert stored == written
    assert stored.tzinfo == UTC
    assert stored.hour == 0  # 09:30 JST is 00:30 UTC

    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as conn:
        insert_ignore(conn, inbox_entries, _row("k2", datetime(2026, 4, 1, 9, 30)))


def test_insert_ignore_inserts_once_and_never_changes_the_row(engine):
    first = datetime(2026, 4, 1, tzinfo=UTC)
    with engine.begin() as conn:
        assert insert_ignore(conn, inbox_entries, _row("k", first)) is True
    changed = _row("k", first + timedelta(days=1)) | {"event": "issued"}
    with engine.begin() as conn:
        assert insert_ignore(conn, inbox_entries, changed) is False
    with engine.connect() as conn:
        rows = conn.execute(select(inbox_entries)).mappings().all()
    assert len(rows) == 1
    assert rows[0]["event"] == "submitted"
    assert rows[0]["created_at"] == first


def test_in_memory_database_is_shared_between_threads():
    engine = make_engine("sqlite://")
    try:
        create_schema(engine)
        done = []

        def write() -> None:
            with engine.begin() as conn:
                done.append(insert_ignore(conn, inbox_entries, _row("t", datetime.now(UTC))))

        worker = threading.Thread(target=write)
        worker.start()
        worker.join()
        assert done == [True]
        with engine.connect() as conn:
            assert conn.execute(select(inbox_entries.c.key)).scalars().all() == ["t"]
    finally:
        engine.dispose()


def test_error_messages_do_not_carry_row_values(engine):
    row = _row("secret-key", datetime.now(UTC)) | {"recipient": None}
    row["body"] = {"ja": "山田太郎様", "en": "Dear Taro Yamada"}
    with pytest.raises(IntegrityError) as excinfo, engine.begin() as conn:
        conn.execute(inbox_entries.insert().values(row))
    assert "Yamada" not in str(excinfo.value)
    assert "secret-key" not in str(excinfo.value)
