"""Counter sessions (窓口) and their prepared filings, on the server side.

A session is opened by one staff member at one municipality and counter; it holds the
resident present (the registry's facts, or what staff typed in) and how their identity was
checked. It ends when closed or after ``idle`` minutes without use. A prepared filing waits
here, validated but not started, until the resident confirms it; its id is the
confirmation token. Ids are random (``secrets.token_urlsafe``), so they reveal nothing.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Engine,
    ForeignKey,
    Index,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from records.db import UTCDateTime, make_engine, metadata

__all__ = [
    "CounterStore", "CounterStoreUnavailable", "counter_filings", "counter_sessions",
    "helper_codes",
]

counter_sessions = Table(
    "counter_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("staff_issuer", String, nullable=False),
    Column("staff_subject", String, nullable=False),
    Column("staff_name", String, nullable=True),
    Column("municipality", String(6), nullable=False),
    Column("counter_id", String(64), nullable=False),
    Column("method", String(32), nullable=False),
    Column("person_id", String, nullable=True),
    Column("verified", Boolean, nullable=False),
    Column("resident", JSON, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Index(None, "staff_subject"),
)

counter_filings = Table(
    "counter_filings",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("session_id", String(64), ForeignKey("counter_sessions.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("target", String, nullable=False),
    Column("request", JSON, nullable=False),
    Column("prepared_at", UTCDateTime, nullable=False),
    Column("result", JSON, nullable=True),
    Index(None, "session_id"),
)


helper_codes = Table(
    "counter_helper_codes",
    metadata,
    Column("digest", String(64), primary_key=True),  # SHA-256 of the code: no code stored
    Column("helper_issuer", String, nullable=False),
    Column("helper_subject", String, nullable=False),
    Column("municipality", String(6), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)


class CounterStoreUnavailable(Exception):
    """The database did not answer; the counter refuses (nothing half done)."""


def new_id() -> str:
    """A random, unguessable id (also a confirmation token)."""
    return secrets.token_urlsafe(24)


class CounterStore:
    """Rows of counter sessions and prepared filings on ``records.db``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def in_memory(cls) -> CounterStore:
        engine = make_engine("sqlite://")
        metadata.create_all(engine, tables=[counter_sessions, counter_filings, helper_codes])
        return cls(engine)

    def open(self, row: dict[str, Any]) -> None:
        self._write(lambda conn: conn.execute(counter_sessions.insert().values(**row)))

    def session(self, session_id: str) -> dict[str, Any] | None:
        return self._one(select(counter_sessions).where(counter_sessions.c.id == session_id))

    def touch(self, session_id: str, at: datetime) -> None:
        self._write(lambda conn: conn.execute(update(counter_sessions).where(
            counter_sessions.c.id == session_id).values(last_used_at=at)))

    def close(self, session_id: str, at: datetime) -> None:
        self._write(lambda conn: conn.execute(update(counter_sessions).where(
            counter_sessions.c.id == session_id, counter_sessions.c.closed_at.is_(None)
        ).values(closed_at=at)))

    def prepare(self, row: dict[str, Any]) -> None:
        self._write(lambda conn: conn.execute(counter_filings.insert().values(**row)))

    def filing(self, filing_id: str) -> dict[str, Any] | None:
        return self._one(select(counter_filings).where(counter_filings.c.id == filing_id))

    def complete(self, filing_id: str, result: dict[str, Any]) -> None:
        self._write(lambda conn: conn.execute(update(counter_filings).where(
            counter_filings.c.id == filing_id).values(result=result)))

    def add_helper_code(self, row: dict[str, Any]) -> None:
        self._write(lambda conn: conn.execute(helper_codes.insert().values(**row)))

    def helper_code(self, digest: str) -> dict[str, Any] | None:
        return self._one(select(helper_codes).where(helper_codes.c.digest == digest))

    def _one(self, query: Any) -> dict[str, Any] | None:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).mappings().first()
        except SQLAlchemyError as exc:
            raise CounterStoreUnavailable("counter store unavailable") from exc
        return dict(row) if row is not None else None

    def _write(self, action: Any) -> None:
        try:
            with self.engine.begin() as conn:
                action(conn)
        except SQLAlchemyError as exc:
            raise CounterStoreUnavailable("counter store unavailable") from exc


def expires_at(last_used_at: datetime, idle_minutes: int) -> datetime:
    return last_used_at.astimezone(UTC) + timedelta(minutes=idle_minutes)
