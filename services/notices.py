"""How people hear of their cases: the inbox, a resident's notice preferences and the
browsers they receive Web Push in, and what a caseworker sees of deliveries."""

from __future__ import annotations

from identity.principals import AnyPrincipal, Caseworker, Resident
from notices.dispatch import NoticeSetup
from notices.push import InvalidSubscription, check_subscription_keys
from records.deliveries import DeliveryRecord
from records.inbox import InboxEntry, InboxStore
from records.preferences import NoticePreferences
from records.push import PushSubscription, subscription_id
from services.keys import ApplicantKeys
from services.refusals import Refused


def resident_only() -> Refused:
    return Refused("forbidden", "resident_only", "この画面は住民の方のためのものです。",
                   "This is for residents only.")


class NoticeService:
    def __init__(self, keys: ApplicantKeys, inbox: InboxStore,
                 setup: NoticeSetup | None) -> None:
        self._keys = keys
        self._inbox = inbox
        self._setup = setup

    @property
    def setup(self) -> NoticeSetup:
        if self._setup is None:
            raise Refused("unavailable", "notices_unavailable", "通知の設定は現在使えません。",
                          "Notification settings are not available right now.")
        return self._setup

    def recipient(self, principal: AnyPrincipal) -> str:
        """The inbox id of a resident. :raises Refused: ``forbidden`` for anyone else."""
        if not isinstance(principal, Resident):
            raise resident_only()
        return f"applicant:{self._keys.of(principal)}"

    def inbox(self, principal: AnyPrincipal, linked: str | None = None) -> list[InboxEntry]:
        """Notices, newest first: the applicant's own (and those of cases filed for them at
        a counter, ``linked``: see services/linking.py), or the caseworker's
        municipalities'."""
        if not isinstance(principal, Caseworker):
            recipients = [f"applicant:{self._keys.of(principal)}"]
            if linked is not None:
                recipients.append(f"applicant:{linked}")
        else:
            recipients = [f"municipality:{code}" for code in sorted(principal.municipalities)]
        entries = [e for r in recipients for e in self._inbox.for_recipient(r)]
        return sorted(entries, key=lambda e: e.created_at, reverse=True)

    def deliveries(self, principal: AnyPrincipal, application_id: str) -> list[DeliveryRecord]:
        """Notice statuses of a case, for caseworkers only (empty for anyone else)."""
        if not isinstance(principal, Caseworker) or self._setup is None:
            return []
        return self._setup.deliveries.for_application(application_id)

    # ---- a resident's preferences and browsers -----------------------------------------

    def preferences(self, resident: Resident) -> NoticePreferences:
        """How the resident hears of their cases (defaults if never saved)."""
        return self.setup.preferences.get(self.recipient(resident))

    def save_preferences(self, resident: Resident,
                         preferences: NoticePreferences) -> NoticePreferences:
        recipient = self.recipient(resident)
        self.setup.preferences.put(recipient, preferences)
        return self.setup.preferences.get(recipient)

    def push_key(self) -> str:
        """The VAPID public key browsers subscribe with. :raises Refused: ``not_found``
        where this installation sends no push notices."""
        vapid = self._push().vapid
        assert vapid is not None
        return vapid.public_key

    def subscriptions(self, resident: Resident) -> list[PushSubscription]:
        return self.setup.subscriptions.for_recipient(self.recipient(resident))

    def subscribe(self, resident: Resident, endpoint: str, p256dh: str,
                  auth: str) -> PushSubscription:
        """Receive push notices in a browser (idempotent per endpoint).

        :raises Refused: ``invalid`` for an endpoint or keys we will not send to.
        """
        setup = self._push()
        recipient = self.recipient(resident)
        try:
            setup.endpoint_policy.check(endpoint)
            check_subscription_keys(p256dh, auth)
        except InvalidSubscription as exc:
            raise Refused("invalid", "invalid_subscription",
                          "このブラウザの通知の登録内容を受け付けられませんでした。",
                          "This browser's push subscription cannot be accepted.",
                          [{"path": f"/{exc.code}", "code": exc.code,
                            "message": {"ja": "受け付けられない値です。", "en": str(exc)}}],
                          ) from None
        return setup.subscriptions.add(recipient, endpoint, p256dh, auth)

    def unsubscribe_endpoint(self, resident: Resident, endpoint: str) -> None:
        """Stop push notices to the browser with this endpoint (no error if already gone)."""
        self.setup.subscriptions.remove(subscription_id(endpoint),
                                        recipient=self.recipient(resident))

    def unsubscribe(self, resident: Resident, subscription: str) -> None:
        """:raises Refused: ``not_found`` unless it is one of the resident's browsers."""
        if not self.setup.subscriptions.remove(subscription,
                                               recipient=self.recipient(resident)):
            raise Refused("not_found", "not_found", "見つかりません。", "Not found.")

    def push_available(self) -> bool:
        return self._setup is not None and self._setup.vapid is not None

    def _push(self) -> NoticeSetup:
        setup = self.setup
        if setup.vapid is None:
            raise Refused("not_found", "push_disabled", "この窓口ではプッシュ通知を使えません。",
                          "Push notifications are not available here.")
        return setup
