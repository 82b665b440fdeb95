"""What a channel is asked to deliver, and what it may record while doing so.

:class:`ChannelDelivery` is one notice for one recipient on one channel, keyed
``<workflow id>:<seq>:<event>:<channel>``; :class:`DeliveryOutcome` is what came of it.
An :class:`Attempt` gives a channel the two durable marks it may need: *handed over*
(the message is leaving for good: a retry must not send it again) and *parts* (targets
of a multi-target delivery that are done).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from notices.compose import ComposedNotice
from records.deliveries import DeliveryLog

__all__ = ["Attempt", "ChannelDelivery", "DeliveryOutcome", "OutboundChannel", "opaque_id"]


def opaque_id(key: str, length: int = 32) -> str:
    """A stable id derived from a delivery key, safe to show to outside systems (hex)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:length]


class ChannelDelivery(BaseModel):
    """One notice to deliver to one recipient.

    Holds personal data (the notice text, the e-mail address): never log it whole.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(
        min_length=3, max_length=512, description="'<workflow id>:<seq>:<event>:<channel>'"
    )
    recipient: str = Field(pattern=r"^(applicant|municipality):\S+$")
    application_id: str = Field(min_length=1)
    event: str = Field(min_length=1)
    notice: ComposedNotice
    created_at: AwareDatetime
    email: str | None = Field(default=None, description="The resident's address, when known")
    lang: Literal["ja", "en"] | None = Field(
        default=None, description="Language if the resident saved no preference"
    )
    municipality: str | None = Field(default=None, description="Municipality of the case")
    procedure: str | None = Field(default=None, description="Procedure id of the case")
    values: dict[str, JsonValue] | None = Field(
        default=None, description="The case values the procedure declares for this notice "
        "(include), e.g. the amount a payment instruction names")

    def sibling_key(self, channel: str) -> str:
        """The key of the same notice on another channel (e.g. the inbox fallback)."""
        return f"{self.key.rsplit(':', 1)[0]}:{channel}"

    @property
    def recipient_municipality(self) -> str | None:
        """The municipality to notify: the recipient's, else the case's."""
        kind, _, ident = self.recipient.partition(":")
        return ident if kind == "municipality" else self.municipality


class DeliveryOutcome(BaseModel):
    """What became of one :class:`ChannelDelivery` (returned by the activity).

    ``status`` is ``delivered``, ``permanent-failure`` (recorded; retrying will not help),
    or ``skipped`` (the channel does not apply: turned off, no address, not configured;
    nothing recorded). ``sent_now`` is False when an earlier attempt had done the work.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    channel: str
    status: Literal["delivered", "permanent-failure", "skipped"]
    sent_now: bool = False
    confirmed: bool = False
    error: str | None = None
    fallback: str | None = None


@dataclass
class Attempt:
    """One attempt at one delivery, with its durable marks in the delivery log."""

    key: str
    log: DeliveryLog
    clock: Callable[[], datetime]

    def hand_over(self) -> None:
        """Mark durably that the message is leaving now: from here on, a crash must not
        lead to a second send (the retry records the delivery as unconfirmed)."""
        self.log.mark_handed_over(self.key, self.clock())

    def take_back(self) -> None:
        """Undo :meth:`hand_over` when the far end refused the message for certain."""
        self.log.mark_handed_over(self.key, self.clock(), handed_over=False)

    def parts_done(self) -> dict[str, str]:
        """Targets already done by this or an earlier attempt, with their outcome."""
        return self.log.parts(self.key)

    def part_done(self, part: str, outcome: str) -> None:
        """Record that target ``part`` is done (``delivered``, ``gone``, ``refused``)."""
        self.log.record_part(self.key, part, outcome)


class OutboundChannel(Protocol):
    """A channel the dispatcher drives (e-mail, Web Push, webhook)."""

    channel_id: ClassVar[str]

    def check_config(self) -> None:
        """:raises DeliveryError: describing what is wrong with the configuration."""
        ...

    def send(self, request: ChannelDelivery, attempt: Attempt, *, lang: str) -> bool:
        """Send ``request`` in ``lang``.

        :returns: True if the far end confirmed receipt, False if it was handed over
            without a confirmation (the connection broke after the message left).
        :raises TransientDeliveryError: if retrying later may succeed.
        :raises PermanentDeliveryError: if it cannot succeed.
        """
        ...
