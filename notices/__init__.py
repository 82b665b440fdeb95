"""Notices: composing them, and the channels that deliver them.

A procedure says, per engine event, who hears of it and through which channels
(``NoticeRule`` in ``forms.definition``: ``inbox``, ``email``, ``push``, ``webhook``). The
notice activity composes the notice once (:func:`notices.compose.compose_notice`) and
hands it to each channel. Every channel follows :class:`Channel`: delivery is idempotent
by ``key``, and failures are :class:`TransientDeliveryError` (Temporal retries) or
:class:`PermanentDeliveryError` (the activity gives up on that channel).

Each channel class names its id (``channel_id``): :mod:`notices.inbox`,
:mod:`notices.email`, :mod:`notices.push`, :mod:`notices.webhook`; the ids, in the order a
notice goes out, are :data:`notices.dispatch.CHANNELS`. :mod:`notices.dispatch` ties them together
for the worker (one :class:`~notices.dispatch.NoticeDispatcher` per process): which
channels apply to a recipient, exactly-once bookkeeping in :mod:`records.deliveries`, the
bounded retry window and the inbox fallback. See ``docs/notices.md``.

Errors::

    DeliveryError
    ├── TransientDeliveryError   worth retrying (database busy, SMTP 4xx, timeout)
    └── PermanentDeliveryError   retrying will not help (bad recipient, SMTP 5xx)
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol

from notices.compose import (
    ComposedNotice,
    NoticeTemplateInvalid,
    NoticeTemplateMissing,
    compose_notice,
)

__all__ = [
    "Channel",
    "ComposedNotice",
    "DeliveryError",
    "NoticeTemplateInvalid",
    "NoticeTemplateMissing",
    "PermanentDeliveryError",
    "TransientDeliveryError",
    "channels",
    "compose_notice",
]


class DeliveryError(Exception):
    """A channel could not deliver a notice.

    ``code`` classifies the failure for the delivery log and the caseworker (e.g.
    ``smtp-unavailable``, ``http-503``, ``push-gone``); it never holds personal data, so it
    may be logged and stored. The message may be more specific but is kept free of
    addresses and texts as well.
    """

    default_code = "delivery-error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code


class TransientDeliveryError(DeliveryError):
    """Delivery failed for a reason that may pass; the activity should be retried."""

    default_code = "temporary"


class PermanentDeliveryError(DeliveryError):
    """Delivery cannot succeed as asked; retrying will not help."""

    default_code = "permanent"


class Channel(Protocol):
    """A way of delivering a composed notice to a recipient."""

    #: The id procedures use in ``NoticeRule.channels``.
    channel_id: ClassVar[str]

    def check_config(self) -> None:
        """Check the channel can work as configured (e.g. its store or server is there).

        :raises DeliveryError: describing what is wrong.
        """
        ...

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
        """Deliver ``notice``; a no-op if a delivery with ``key`` was already made.

        :param key: idempotency key, e.g. ``"<workflow id>:<event>:<seq>"``.
        :param recipient: ``"applicant:<applicant key>"`` or ``"municipality:<code>"``.
        :returns: True if delivered now, False if ``key`` had been delivered before.
        :raises TransientDeliveryError: if retrying later may succeed.
        :raises PermanentDeliveryError: if it cannot succeed.
        """
        ...
