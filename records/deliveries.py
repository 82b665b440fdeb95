"""Delivery status of every notice on every channel, as the caseworker sees it.

One row per delivery key (``<workflow id>:<seq>:<event>:<channel>``), moving through the
statuses GOV.UK Notify uses::

    sending ──► delivered
       │  ▲
       ▼  │ (Temporal retries)
    temporary-failure ──► permanent-failure   (gave up, or retrying cannot help)

A row holds ids, the channel, counters and an error *class* (``smtp-unavailable``,
``http-503``, ...), never an address, a name or a message text: it is shown to
caseworkers and may be exported for audits.

The row is also how the dispatcher stays idempotent across crashes: an attempt
:meth:`DeliveryLog.claim`\\ s the row (with a lease, so two attempts of one activity never
send at once), a channel marks the moment it hands a message over for good
(:meth:`DeliveryLog.mark_handed_over`), and :meth:`DeliveryLog.finish` records the outcome.
Multi-target channels (Web Push to several browsers) record each target as a *part*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    String,
    Table,
    or_,
    select,
    update,
)

from records.db import UTCDateTime, insert_ignore, metadata

__all__ = [
    "FINAL",
    "Claim",
    "DeliveryLog",
    "DeliveryRecord",
    "DeliveryStatus",
    "delivery_parts",
    "notice_deliveries",
]

DeliveryStatus = Literal["sending", "delivered", "temporary-failure", "permanent-failure"]
#: Statuses after which no attempt sends again.
FINAL: frozenset[str] = frozenset({"delivered", "permanent-failure"})

notice_deliveries = Table(
    "notice_deliveries",
    metadata,
    Column("key", String, primary_key=True),
    Column("application_id", String, nullable=False),
    Column("channel", String, nullable=False),
    Column("event", String, nullable=False),
    Column("status", String, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", String, nullable=True),
    Column("handed_over", Boolean, nullable=False, default=False),
    Column("confirmed", Boolean, nullable=False, default=False),
    Column("fallback", String, nullable=True),
    Column("first_attempt_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Index(None, "application_id"),
)

#: Targets of a multi-target delivery that are done (e.g. one row per browser pushed to).
delivery_parts = Table(
    "notice_delivery_parts",
    metadata,
    Column("key", String, primary_key=True),
    Column("part", String, primary_key=True),
    Column("outcome", String, nullable=False),
)


class DeliveryRecord(BaseModel):
    """The status of one notice on one channel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    application_id: str
    channel: str
    event: str
    status: DeliveryStatus
    attempts: int
    error: str | None = None
    handed_over: bool = False
    confirmed: bool = False
    fallback: str | None = None
    first_attempt_at: AwareDatetime
    updated_at: AwareDatetime


@dataclass(frozen=True)
class Claim:
    """What :meth:`DeliveryLog.claim` found.

    ``go``: this attempt owns the delivery until the lease ends and should send (``record``
    tells whether an earlier attempt already handed the message over). ``done``: an
    earlier attempt finished; nothing to send. ``busy``: another attempt holds the lease.
    """

    state: Literal["go", "done", "busy"]
    record: DeliveryRecord


class DeliveryLog:
    """Delivery records in the read-model store."""

    def __init__(self, engine: Engine) -> None:
        """:param engine: from :func:`records.db.make_engine`, schema created."""
        self.engine = engine

    def claim(
        self,
        key: str,
        *,
        application_id: str,
        channel: str,
        event: str,
        now: datetime,
        lease: timedelta,
    ) -> Claim:
        """Start an attempt: create the record (``sending``) or take over a failed one.

        Race-safe: the database decides who holds the lease. An attempt whose lease ran
        out (its worker died) is taken over by the next; a finished record is left alone.
        """
        until = now + lease
        with self.engine.begin() as conn:
            created = insert_ignore(
                conn,
                notice_deliveries,
                {
                    "key": key,
                    "application_id": application_id,
                    "channel": channel,
                    "event": event,
                    "status": "sending",
                    "attempts": 1,
                    "error": None,
                    "handed_over": False,
                    "confirmed": False,
                    "fallback": None,
                    "first_attempt_at": now,
                    "updated_at": now,
                    "lease_until": until,
                },
            )
            if not created:
                taken = (
                    conn.execute(
                        update(notice_deliveries)
                        .where(
                            notice_deliveries.c.key == key,
                            notice_deliveries.c.status.not_in(sorted(FINAL)),
                            or_(
                                notice_deliveries.c.lease_until.is_(None),
                                notice_deliveries.c.lease_until <= now,
                            ),
                        )
                        .values(
                            status="sending",
                            attempts=notice_deliveries.c.attempts + 1,
                            updated_at=now,
                            lease_until=until,
                        )
                    ).rowcount
                    == 1
                )
            row = (
                conn.execute(select(notice_deliveries).where(notice_deliveries.c.key == key))
                .mappings()
                .one()
            )
        record = _record(row)
        if created or taken:
            return Claim("go", record)
        return Claim("done" if record.status in FINAL else "busy", record)

    def mark_handed_over(self, key: str, now: datetime, *, handed_over: bool = True) -> None:
        """Record, durably, that the message is about to leave for good (e.g. just before
        the end of an SMTP DATA): after this, a retry must not send it again. With
        ``handed_over=False``, undo it (the far end refused the message for certain)."""
        self._update(key, handed_over=handed_over, updated_at=now)

    def finish(
        self,
        key: str,
        status: DeliveryStatus,
        *,
        now: datetime,
        error: str | None = None,
        confirmed: bool | None = None,
        fallback: str | None = None,
    ) -> DeliveryRecord:
        """Record an attempt's outcome and release its lease.

        :param error: an error class (no personal data), kept as the last error.
        :param confirmed: for ``delivered``, whether the far end acknowledged it.
        :param fallback: the channel that carried the notice instead (``inbox``).
        """
        values: dict[str, Any] = {"status": status, "updated_at": now, "lease_until": None}
        if error is not None:
            values["error"] = error
        if confirmed is not None:
            values["confirmed"] = confirmed
        if fallback is not None:
            values["fallback"] = fallback
        self._update(key, **values)
        record = self.get(key)
        assert record is not None
        return record

    def get(self, key: str) -> DeliveryRecord | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(notice_deliveries).where(notice_deliveries.c.key == key))
                .mappings()
                .first()
            )
        return None if row is None else _record(row)

    def for_application(self, application_id: str) -> list[DeliveryRecord]:
        """Every delivery of one application's notices, oldest first."""
        stmt = (
            select(notice_deliveries)
            .where(notice_deliveries.c.application_id == application_id)
            .order_by(notice_deliveries.c.first_attempt_at, notice_deliveries.c.key)
        )
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(stmt).mappings().all()]

    def record_part(self, key: str, part: str, outcome: str) -> None:
        """Record that target ``part`` of delivery ``key`` is done (``delivered``, ``gone``)."""
        with self.engine.begin() as conn:
            insert_ignore(conn, delivery_parts, {"key": key, "part": part, "outcome": outcome})

    def parts(self, key: str) -> dict[str, str]:
        """The targets of delivery ``key`` that are done, with their outcome."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(delivery_parts.c.part, delivery_parts.c.outcome).where(
                    delivery_parts.c.key == key
                )
            ).all()
        return {part: outcome for part, outcome in rows}

    def _update(self, key: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(notice_deliveries).where(notice_deliveries.c.key == key).values(**values)
            )


def _record(row: Any) -> DeliveryRecord:
    data = {k: v for k, v in dict(row).items() if k != "lease_until"}
    for name in ("first_attempt_at", "updated_at"):
        if data[name].tzinfo is None:  # pragma: no cover - UTCDateTime makes them aware
            data[name] = data[name].replace(tzinfo=UTC)
    return DeliveryRecord.model_validate(data)
