"""The inbox read model: notices as residents and municipalities see them in the portal.

Written by the notice activity through :class:`notices.inbox.InboxChannel`, read by the
portal. An entry's ``key`` is its idempotency key, so a retried activity adds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine, Select, delete, select, update

from records.db import inbox_entries, insert_ignore

__all__ = ["InboxEntry", "InboxStore"]


class InboxEntry(BaseModel):
    """One notice in one recipient's inbox."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        min_length=1,
        max_length=512,
        description="Idempotency key, e.g. '<workflow id>:<event>:<seq>'",
    )
    recipient: str = Field(
        pattern=r"^(applicant|municipality):\S+$",
        description="'applicant:<applicant key>' or 'municipality:<code>'",
    )
    application_id: str = Field(min_length=1)
    event: str = Field(min_length=1, description="Engine event, e.g. 'submitted', 'issued'")
    title: dict[str, str] = Field(description="Title by language ('ja', 'en')")
    body: dict[str, str] = Field(description="Body by language ('ja', 'en')")
    created_at: AwareDatetime = Field(description="When the notice was sent; stored as UTC")
    read: bool = False

    @field_validator("created_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class InboxStore:
    """Inbox entries in the read-model store."""

    def __init__(self, engine: Engine) -> None:
        """:param engine: from :func:`records.db.make_engine`, schema created."""
        self.engine = engine

    def add(self, entry: InboxEntry) -> bool:
        """Add an entry unless one with the same key exists.

        Race-safe: concurrent adds of one key leave one row. An existing entry is never
        changed (not even its ``read`` flag), so a retried delivery cannot un-read a notice.

        :returns: True if the entry was inserted, False if the key existed.
        """
        with self.engine.begin() as conn:
            return insert_ignore(conn, inbox_entries, entry.model_dump())

    def for_recipient(self, recipient: str, *, limit: int = 100) -> list[InboxEntry]:
        """The recipient's newest ``limit`` entries, newest first.

        :raises ValueError: if ``limit`` is less than 1.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        stmt = (
            select(inbox_entries)
            .where(inbox_entries.c.recipient == recipient)
            .order_by(inbox_entries.c.created_at.desc(), inbox_entries.c.key.desc())
            .limit(limit)
        )
        return self._fetch(stmt)

    def for_application(self, application_id: str) -> list[InboxEntry]:
        """Every entry about one application, to any recipient, newest first."""
        stmt = (
            select(inbox_entries)
            .where(inbox_entries.c.application_id == application_id)
            .order_by(inbox_entries.c.created_at.desc(), inbox_entries.c.key.desc())
        )
        return self._fetch(stmt)

    def delete_for_application(self, application_id: str) -> int:
        """Forget every notice about an application (its retention period ended)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(inbox_entries).where(inbox_entries.c.application_id == application_id))
        return result.rowcount

    def mark_read(self, recipient: str, key: str) -> bool:
        """Mark the recipient's entry ``key`` as read (again, harmlessly, if it was).

        The recipient is part of the match, so one recipient cannot mark another's entry.

        :returns: True if the recipient has an entry with that key, else False.
        """
        stmt = (
            update(inbox_entries)
            .where(inbox_entries.c.key == key, inbox_entries.c.recipient == recipient)
            .values(read=True)
        )
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def _fetch(self, stmt: Select[Any]) -> list[InboxEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [InboxEntry.model_validate(dict(row)) for row in rows]
