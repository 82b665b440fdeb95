"""Dispatching notices to channels, once, with every attempt on record.

Built once per process from :class:`NoticeSettings` (``MADOGUCHI_*``) by
:meth:`NoticeSetup.build`: the portal uses the setup's stores (preferences, push
subscriptions, VAPID public key); the worker asks it for a :class:`NoticeDispatcher`.

The workflow runs one ``deliver_notice`` activity per channel with the key
``<workflow id>:<seq>:<event>:<channel>``; the activity is :func:`deliver_via`. For each
delivery the dispatcher

1. decides whether the channel applies now (resident's preferences, address, configured
   receivers); if not, the outcome is ``skipped`` and nothing is recorded;
2. claims the delivery record (:mod:`records.deliveries`) with a lease, so two attempts of
   one activity (a timed-out one still running) never send at once; a finished record
   makes the attempt a no-op;
3. if an earlier attempt handed the message over and then died, records it as delivered
   (unconfirmed) instead of sending again;
4. sends, and records ``delivered``, ``temporary-failure`` (then raises
   :class:`TransientDeliveryError`: Temporal retries) or ``permanent-failure`` (raises
   :class:`PermanentDeliveryError`).

A channel failing transiently for longer than its window (``give_up_after``; e-mail 24 h by
default) gives up: ``permanent-failure``, and resident-facing channels (e-mail, push)
make sure the notice is in the inbox (``fallback: inbox``).

Guarantees (see ``docs/notices.md``): inbox and e-mail are exactly once — an e-mail is
never sent twice, and is sent unless the worker dies in the lost-reply window after the
end of DATA, where it is recorded as delivered but unconfirmed. Web Push and webhooks are
at least once per target with a stable id for deduplication (``Topic`` / notification tag,
``Madoguchi-Delivery``); a second copy needs a lost reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import AwareDatetime, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine

from notices import ComposedNotice, PermanentDeliveryError, TransientDeliveryError
from notices.delivery import Attempt, ChannelDelivery, DeliveryOutcome, OutboundChannel
from notices.email import EmailChannel, SmtpOptions
from notices.inbox import InboxChannel
from notices.push import DEFAULT_PUSH_HOSTS, EndpointPolicy, PushChannel, VapidKeys
from notices.webhook import WebhookChannel, WebhookTarget
from records.deliveries import DeliveryLog, DeliveryRecord
from records.inbox import InboxStore
from records.preferences import PreferenceStore
from records.push import PushSubscriptionStore

__all__ = [
    "CHANNELS",
    "ChannelDelivery",
    "DeliveryOutcome",
    "NoticeDispatcher",
    "NoticeSettings",
    "NoticeSetup",
    "deliver_via",
]

log = logging.getLogger("madoguchi.notices")

#: Every channel, in the order a notice goes out.
CHANNELS: tuple[str, ...] = ("inbox", "email", "push", "webhook")
#: Channels that reach the resident; when they give up, the inbox carries the notice.
_RESIDENT_FACING = frozenset({"email", "push"})


class NoticeSettings(BaseSettings):
    """Channel settings from the environment (``MADOGUCHI_*``); every channel but the
    inbox is off until configured."""

    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", extra="ignore")

    smtp_host: str | None = Field(default=None, description="SMTP server; unset: no e-mail")
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = Field(default=None, description="From: '窓口 <noreply@…>'")
    smtp_security: Literal["starttls", "starttls-required", "tls", "none"] = "starttls"
    smtp_ca_file: Path | None = None
    smtp_timeout_seconds: float = 10.0
    email_give_up_after_hours: float = Field(default=24.0, gt=0)
    push_give_up_after_hours: float = Field(default=24.0, gt=0)
    webhook_give_up_after_hours: float = Field(default=72.0, gt=0)
    webhooks: dict[str, WebhookTarget] = Field(
        default_factory=dict,
        description='JSON: {"<municipality code>": {"url": "https://…", "secret": "…"}}',
    )
    push_enabled: bool = True
    vapid_subject: str | None = Field(default=None, description="mailto: or https:// origin")
    push_endpoint_hosts: list[str] = Field(default_factory=lambda: list(DEFAULT_PUSH_HOSTS))
    push_allow_http_loopback: bool = Field(
        default=False, description="Tests only: accept http://127.0.0.1 push endpoints"
    )
    delivery_lease_seconds: float = Field(
        default=60.0, gt=0, description="Longer than the activity's start-to-close timeout"
    )

    def smtp_options(self) -> SmtpOptions | None:
        if not self.smtp_host or not self.smtp_from:
            return None
        return SmtpOptions(
            host=self.smtp_host,
            port=self.smtp_port,
            username=self.smtp_username,
            password=self.smtp_password,
            sender=self.smtp_from,
            security=self.smtp_security,
            ca_file=self.smtp_ca_file,
            timeout_seconds=self.smtp_timeout_seconds,
        )

    def give_up_after(self) -> dict[str, timedelta]:
        return {
            "email": timedelta(hours=self.email_give_up_after_hours),
            "push": timedelta(hours=self.push_give_up_after_hours),
            "webhook": timedelta(hours=self.webhook_give_up_after_hours),
        }

    def vapid_sub(self, public_url: str) -> str:
        if self.vapid_subject:
            return self.vapid_subject
        options = self.smtp_options()
        if options is not None:
            return f"mailto:{options.sender_address}"
        parts = urlsplit(public_url)
        if parts.scheme == "https" and parts.hostname:
            return f"https://{parts.hostname}"
        return "mailto:webmaster@localhost"


@dataclass
class NoticeSetup:
    """The notice stores and keys of one process (web or worker)."""

    settings: NoticeSettings
    public_url: str
    preferences: PreferenceStore
    subscriptions: PushSubscriptionStore
    deliveries: DeliveryLog
    vapid: VapidKeys | None
    endpoint_policy: EndpointPolicy = field(default_factory=EndpointPolicy)

    @classmethod
    def build(
        cls, settings: NoticeSettings, *, engine: Engine, keys_dir: Path, public_url: str
    ) -> NoticeSetup:
        """Open the stores on ``engine`` (schema created) and load or create the VAPID key
        in ``keys_dir/vapid.pem``."""
        vapid = (
            VapidKeys.load_or_create(keys_dir / "vapid.pem", settings.vapid_sub(public_url))
            if settings.push_enabled
            else None
        )
        return cls(
            settings=settings,
            public_url=public_url.rstrip("/"),
            preferences=PreferenceStore(engine),
            subscriptions=PushSubscriptionStore(engine),
            deliveries=DeliveryLog(engine),
            vapid=vapid,
            endpoint_policy=EndpointPolicy(
                tuple(settings.push_endpoint_hosts), settings.push_allow_http_loopback
            ),
        )

    def dispatcher(
        self, inbox: InboxStore | InboxChannel, *, clock: Callable[[], datetime] | None = None
    ) -> NoticeDispatcher:
        """The dispatcher of a worker process, with every configured channel."""
        options = self.settings.smtp_options()
        return NoticeDispatcher(
            log=self.deliveries,
            preferences=self.preferences,
            inbox=inbox if isinstance(inbox, InboxChannel) else InboxChannel(inbox),
            email=EmailChannel(options, public_url=self.public_url) if options else None,
            push=(
                PushChannel(
                    self.subscriptions,
                    self.vapid,
                    public_url=self.public_url,
                    policy=self.endpoint_policy,
                )
                if self.vapid
                else None
            ),
            webhook=(WebhookChannel(self.settings.webhooks) if self.settings.webhooks else None),
            give_up_after=self.settings.give_up_after(),
            lease=timedelta(seconds=self.settings.delivery_lease_seconds),
            clock=clock,
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class NoticeDispatcher:
    """Delivers notices through the configured channels; one per worker process."""

    def __init__(
        self,
        *,
        log: DeliveryLog,
        preferences: PreferenceStore,
        inbox: InboxChannel,
        email: EmailChannel | None = None,
        push: PushChannel | None = None,
        webhook: WebhookChannel | None = None,
        give_up_after: dict[str, timedelta] | None = None,
        lease: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """:param give_up_after: per channel, how long transient failures are retried
            (from the first attempt) before the delivery is given up. Missing: forever.
        :param lease: how long an attempt owns a delivery; must exceed the activity's
            start-to-close timeout.
        :param clock: the time source (UTC, aware).
        """
        self.log = log
        self.preferences = preferences
        self.inbox = inbox
        self._outbound: dict[str, OutboundChannel | None] = {
            "email": email,
            "push": push,
            "webhook": webhook,
        }
        self.give_up_after = dict(give_up_after or {})
        self.lease = lease
        self.clock = clock or _utcnow

    # ---- which channels --------------------------------------------------------------

    def channels_for(
        self,
        recipient: str,
        wanted: list[str] | tuple[str, ...],
        *,
        municipality: str | None = None,
    ) -> list[str]:
        """The channels a notice to ``recipient`` goes out on: always the inbox, plus those
        of ``wanted`` (the procedure's ``notices[event].channels``) that are configured
        and, for a resident, turned on in their preferences (e-mail needs an address,
        push a subscribed browser)."""
        chosen = ["inbox"]
        for channel in CHANNELS[1:]:
            if channel in wanted and self._applies(channel, recipient, municipality, None):
                chosen.append(channel)
        return chosen

    def _applies(
        self, channel: str, recipient: str, municipality: str | None, email: str | None
    ) -> bool:
        kind, _, ident = recipient.partition(":")
        if channel == "webhook":
            webhook = self._outbound["webhook"]
            target = ident if kind == "municipality" else municipality
            return isinstance(webhook, WebhookChannel) and webhook.applies_to(target)
        if kind != "applicant" or self._outbound.get(channel) is None:
            return False
        prefs = self.preferences.get(recipient)
        if channel == "email":
            return prefs.email_enabled and bool(prefs.email or email)
        if channel == "push":
            push = self._outbound["push"]
            return (
                prefs.push_enabled
                and isinstance(push, PushChannel)
                and push.has_subscriptions(recipient)
            )
        return False

    # ---- delivering ------------------------------------------------------------------

    def deliver(self, channel: str, request: ChannelDelivery) -> DeliveryOutcome:
        """Deliver ``request`` on ``channel``, at most once, recording every status.

        :raises ValueError: if ``channel`` is unknown or ``request.key`` does not end with
            ``:<channel>``.
        :raises TransientDeliveryError: if it failed for now (recorded as
            ``temporary-failure``); retry later with the same request.
        :raises PermanentDeliveryError: if it failed for good (recorded as
            ``permanent-failure``, after the inbox fallback where there is one).
        """
        if channel not in CHANNELS:
            raise ValueError(f"unknown notice channel {channel!r}")
        if not request.key.endswith(f":{channel}"):
            raise ValueError(f"delivery key must end with ':{channel}'")
        # Once a delivery is on record it is finished whatever the preferences say now.
        if (
            channel != "inbox"
            and self.log.get(request.key) is None
            and not self._applies(
                channel, request.recipient, request.recipient_municipality, request.email
            )
        ):
            return DeliveryOutcome(key=request.key, channel=channel, status="skipped")

        now = self.clock()
        claim = self.log.claim(
            request.key,
            application_id=request.application_id,
            channel=channel,
            event=request.event,
            now=now,
            lease=self.lease,
        )
        if claim.state == "done":
            return _outcome(claim.record, sent_now=False)
        if claim.state == "busy":
            raise TransientDeliveryError(
                "another attempt is delivering this notice", code="in-progress"
            )
        if claim.record.handed_over:
            # An earlier attempt let the message go and died before hearing back.
            record = self.log.finish(request.key, "delivered", now=now, confirmed=False)
            log.warning("notice %s: delivered earlier, unconfirmed", request.key)
            return _outcome(record, sent_now=False)

        try:
            confirmed = self._send(channel, request)
        except TransientDeliveryError as exc:
            window = self.give_up_after.get(channel)
            if window is None or self.clock() - claim.record.first_attempt_at < window:
                self.log.finish(request.key, "temporary-failure", now=self.clock(), error=exc.code)
                log.info("notice %s: temporary failure %s", request.key, exc.code)
                raise
            raise self._give_up(channel, request, exc.code, gave_up=True) from None
        except PermanentDeliveryError as exc:
            raise self._give_up(channel, request, exc.code, gave_up=False) from None
        except Exception:
            self.log.finish(request.key, "temporary-failure", now=self.clock(), error="internal")
            raise
        record = self.log.finish(request.key, "delivered", now=self.clock(), confirmed=confirmed)
        log.info("notice %s: delivered", request.key)
        return _outcome(record, sent_now=True)

    def _send(self, channel: str, request: ChannelDelivery) -> bool:
        attempt = Attempt(request.key, self.log, self.clock)
        if channel == "inbox":
            self.inbox.deliver(
                key=request.key,
                recipient=request.recipient,
                application_id=request.application_id,
                event=request.event,
                notice=request.notice,
                created_at=request.created_at,
            )
            return True
        outbound = self._outbound[channel]
        assert outbound is not None  # _applies checked it
        prefs = self.preferences.find(request.recipient)
        lang = prefs.lang if prefs is not None else (request.lang or "ja")
        if channel == "email":
            address = prefs.email if prefs is not None and prefs.email else request.email
            request = request.model_copy(update={"email": address})
        return outbound.send(request, attempt, lang=lang)

    def _give_up(
        self, channel: str, request: ChannelDelivery, code: str, *, gave_up: bool
    ) -> PermanentDeliveryError:
        fallback = None
        if channel in _RESIDENT_FACING and request.recipient.startswith("applicant:"):
            # The inbox is idempotent by key: if the inbox activity already ran, this adds
            # nothing; if it has not yet, it will find the entry there.
            self.inbox.deliver(
                key=request.sibling_key("inbox"),
                recipient=request.recipient,
                application_id=request.application_id,
                event=request.event,
                notice=request.notice,
                created_at=request.created_at,
            )
            fallback = "inbox"
        error = f"gave-up:{code}" if gave_up else code
        self.log.finish(
            request.key, "permanent-failure", now=self.clock(), error=error, fallback=fallback
        )
        log.warning("notice %s: permanent failure %s", request.key, error)
        return PermanentDeliveryError(f"notice not delivered by {channel}: {error}", code=error)


def _outcome(record: DeliveryRecord, *, sent_now: bool) -> DeliveryOutcome:
    status: Literal["delivered", "permanent-failure"] = (
        "delivered" if record.status == "delivered" else "permanent-failure"
    )
    return DeliveryOutcome(
        key=record.key,
        channel=record.channel,
        status=status,
        sent_now=sent_now,
        confirmed=record.confirmed,
        error=record.error,
        fallback=record.fallback,
    )


class NoticeRequest(Protocol):
    """What :func:`deliver_via` reads from the activity's input (``NoticeInput``)."""

    key: str
    recipient: str
    application_id: str
    event: str
    created_at: AwareDatetime | datetime


def deliver_via(
    dispatcher: NoticeDispatcher,
    notice: NoticeRequest,
    composed: ComposedNotice,
    channel: str,
    **extra: Any,
) -> DeliveryOutcome:
    """The body of the ``deliver_notice`` activity: deliver one notice on one channel.

    :param notice: the activity input; its ``key`` is ``<wf id>:<seq>:<event>:<channel>``.
        ``email``, ``lang``, ``municipality``, ``procedure`` are taken from it when it has
        them, or from ``extra``.
    :returns: the outcome, also for a permanent failure (recorded, and nothing a retry can
        change: the workflow goes on; the caseworker sees it in the delivery log).
    :raises TransientDeliveryError: to have Temporal retry the activity.
    """
    fields = {
        name: getattr(notice, name, None) for name in ("email", "lang", "municipality", "procedure")
    }
    fields.update(extra)
    request = ChannelDelivery(
        key=notice.key,
        recipient=notice.recipient,
        application_id=notice.application_id,
        event=notice.event,
        notice=composed,
        created_at=notice.created_at,
        **{k: v for k, v in fields.items() if v is not None},
    )
    try:
        return dispatcher.deliver(channel, request)
    except PermanentDeliveryError as exc:
        record = dispatcher.log.get(request.key)
        if record is not None:
            return _outcome(record, sent_now=False)
        return DeliveryOutcome(
            key=request.key, channel=channel, status="permanent-failure", error=exc.code
        )
