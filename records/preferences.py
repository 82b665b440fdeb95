"""Residents' notice preferences: language, e-mail address, which channels are on.

Keyed by recipient (``"applicant:<applicant key>"``, the same opaque key the inbox uses).
The e-mail address is personal data: it is stored here and used only by the e-mail
channel; it never appears in logs, delivery records or Temporal history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Boolean, Column, Engine, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from records.db import UTCDateTime, metadata

__all__ = ["EMAIL_PATTERN", "NoticePreferences", "PreferenceStore", "notice_preferences"]

#: A pragmatic address check (one ``@``, a dot in the domain, no spaces or angle brackets).
#: The SMTP server is the judge of deliverability; this only keeps header injection and
#: obvious typos out.
EMAIL_PATTERN = r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,252}\.[A-Za-z0-9-]{2,63}$"

notice_preferences = Table(
    "notice_preferences",
    metadata,
    Column("recipient", String, primary_key=True),
    Column("lang", String(2), nullable=False),
    Column("email", String, nullable=True),
    Column("email_enabled", Boolean, nullable=False),
    Column("push_enabled", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


class NoticePreferences(BaseModel):
    """How one resident wants to hear of their cases. The inbox is always on."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lang: Literal["ja", "en"] = Field(default="ja", description="Language of notices")
    email: str | None = Field(
        default=None, max_length=320, pattern=EMAIL_PATTERN, description="Address for e-mail"
    )
    email_enabled: bool = Field(default=False, description="Send notices by e-mail")
    push_enabled: bool = Field(default=True, description="Send Web Push to subscribed browsers")

    @model_validator(mode="after")
    def _email_needs_address(self) -> NoticePreferences:
        if self.email_enabled and not self.email:
            raise ValueError("e-mail notices need an e-mail address")
        return self

    @field_validator("email", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value


class PreferenceStore:
    """Notice preferences in the read-model store."""

    def __init__(self, engine: Engine) -> None:
        """:param engine: from :func:`records.db.make_engine`, schema created."""
        self.engine = engine

    def get(self, recipient: str) -> NoticePreferences:
        """The recipient's preferences, or the defaults if they never saved any."""
        return self.find(recipient) or NoticePreferences()

    def find(self, recipient: str) -> NoticePreferences | None:
        """The recipient's saved preferences, or None if they never saved any."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(notice_preferences).where(notice_preferences.c.recipient == recipient)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return NoticePreferences(
            lang=row["lang"],
            email=row["email"],
            email_enabled=row["email_enabled"],
            push_enabled=row["push_enabled"],
        )

    def put(self, recipient: str, preferences: NoticePreferences) -> None:
        """Save (insert or replace) the recipient's preferences."""
        values = {
            "recipient": recipient,
            **preferences.model_dump(),
            "updated_at": datetime.now(UTC),
        }
        with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(notice_preferences).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["recipient"],
                set_={k: stmt.excluded[k] for k in values if k != "recipient"},
            )
            conn.execute(stmt)
