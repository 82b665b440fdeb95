"""The inbox channel: notices into the portal inbox (:mod:`records.inbox`).

Always available, needs no outside service, and is what the portal shows; the other
channels (e-mail, Web Push, webhooks) send copies or pointers of the same notice.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError

from notices import ComposedNotice, PermanentDeliveryError, TransientDeliveryError
from records.db import inbox_entries
from records.inbox import InboxEntry, InboxStore

__all__ = ["InboxChannel"]


class InboxChannel:
    """Delivers notices into recipients' portal inboxes."""

    channel_id: ClassVar[str] = "inbox"

    def __init__(self, store: InboxStore) -> None:
        """:param store: the inbox read model."""
        self.store = store

    def check_config(self) -> None:
        """Check the inbox table is reachable.

        :raises PermanentDeliveryError: if the database or the table is not there.
        """
        try:
            with self.store.engine.connect() as conn:
                conn.execute(select(inbox_entries.c.key).limit(1)).all()
        except DBAPIError as exc:
            raise PermanentDeliveryError(f"inbox store not usable: {exc.orig!r}") from exc

    def deliver(
        self,
        *,
        key: str,
        recipient: str,
        application_id: str,
        event: str,
        notice: ComposedNotice,
        created_at: datetime,
    ) -> bool:
        """Put the notice in the recipient's inbox; see :meth:`notices.Channel.deliver`.

        :raises PermanentDeliveryError: if the entry is invalid (e.g. a malformed recipient
            or a naive ``created_at``).
        :raises TransientDeliveryError: if the database is busy or unreachable.
        """
        try:
            entry = InboxEntry(
                key=key,
                recipient=recipient,
                application_id=application_id,
                event=event,
                title=dict(notice.title),
                body=dict(notice.body),
                created_at=created_at,
            )
        except ValidationError as exc:
            # Field names and error types only: the input may hold personal data.
            fields = sorted({".".join(map(str, err["loc"])) for err in exc.errors()})
            raise PermanentDeliveryError(f"invalid inbox entry, fields: {fields}") from None
        try:
            return self.store.add(entry)
        except OperationalError as exc:
            raise TransientDeliveryError(f"inbox store unavailable: {exc.orig!r}") from exc
