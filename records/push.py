"""Web Push subscriptions: the browsers a resident asked to be notified in.

A subscription is what the browser's ``PushManager.subscribe()`` returns: the push
service's endpoint URL and the browser's keys (``p256dh``, ``auth``). Its id is a hash of
the endpoint, so subscribing the same browser again changes nothing, and an endpoint
belongs to one recipient at a time (the last one to subscribe from that browser).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Column, Engine, Index, String, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from records.db import UTCDateTime, metadata

__all__ = ["PushSubscription", "PushSubscriptionStore", "push_subscriptions", "subscription_id"]

push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("recipient", String, nullable=False),
    Column("endpoint", String, nullable=False),
    Column("p256dh", String, nullable=False),
    Column("auth", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "recipient"),
)


def subscription_id(endpoint: str) -> str:
    """The id of the subscription with this endpoint (hex SHA-256, 32 characters)."""
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()[:32]


class PushSubscription(BaseModel):
    """One browser's subscription, as stored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    recipient: str
    endpoint: str = Field(description="The push service URL to POST messages to")
    p256dh: str = Field(description="The browser's ECDH public key, base64url")
    auth: str = Field(description="The browser's auth secret, base64url")
    created_at: AwareDatetime

    def subscription_info(self) -> dict[str, object]:
        """The shape pywebpush (and the browser's ``toJSON()``) uses."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class PushSubscriptionStore:
    """Push subscriptions in the read-model store."""

    def __init__(self, engine: Engine) -> None:
        """:param engine: from :func:`records.db.make_engine`, schema created."""
        self.engine = engine

    def add(self, recipient: str, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
        """Save a subscription; the same endpoint again replaces the earlier one (its keys
        and owner: the browser's newest subscription is the one that works)."""
        sub = PushSubscription(
            id=subscription_id(endpoint),
            recipient=recipient,
            endpoint=endpoint,
            p256dh=p256dh,
            auth=auth,
            created_at=datetime.now(UTC),
        )
        values = sub.model_dump()
        with self.engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(push_subscriptions).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["id"],
                set_={k: stmt.excluded[k] for k in ("recipient", "p256dh", "auth")},
            )
            conn.execute(stmt)
        stored = self.get(sub.id)
        assert stored is not None
        return stored

    def get(self, sub_id: str) -> PushSubscription | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(push_subscriptions).where(push_subscriptions.c.id == sub_id))
                .mappings()
                .first()
            )
        return None if row is None else PushSubscription.model_validate(dict(row))

    def for_recipient(self, recipient: str) -> list[PushSubscription]:
        """The recipient's subscriptions, oldest first."""
        stmt = (
            select(push_subscriptions)
            .where(push_subscriptions.c.recipient == recipient)
            .order_by(push_subscriptions.c.created_at, push_subscriptions.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [PushSubscription.model_validate(dict(row)) for row in rows]

    def remove(self, sub_id: str, *, recipient: str | None = None) -> bool:
        """Remove a subscription (only the recipient's own, when ``recipient`` is given).

        :returns: True if it existed.
        """
        stmt = delete(push_subscriptions).where(push_subscriptions.c.id == sub_id)
        if recipient is not None:
            stmt = stmt.where(push_subscriptions.c.recipient == recipient)
        with self.engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1
