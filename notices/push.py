"""The Web Push channel: notices to the browsers a resident subscribed from the portal.

Messages are encrypted for each browser (RFC 8291, ``aes128gcm``) and authenticated with
the installation's VAPID key (RFC 8292) by pywebpush. The key pair is created on first
start in ``<data dir>/keys/vapid.pem`` (mode 0600); its public half is what the portal
hands browsers (``GET /api/push/vapid-public-key``). Changing it invalidates every
subscription.

A push service answering 404 or 410 says the subscription is gone: it is removed. 429,
5xx and network errors are transient. Each browser pushed to is recorded as a *part* of
the delivery, so a retry after a partial failure pushes only to the browsers not yet
reached. A ``Topic`` header derived from the delivery key lets the push service replace
an undelivered copy, and the service worker shows notices with that tag, so even a
message sent twice (a lost reply) shows once.

Endpoints come from browsers, i.e. from residents: only HTTPS URLs on the known push
services' hosts (:data:`DEFAULT_PUSH_HOSTS`) are accepted, so the worker cannot be made
to POST to an internal address.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher, WebPushException

from notices import PermanentDeliveryError, TransientDeliveryError
from notices.delivery import Attempt, ChannelDelivery, opaque_id
from records.push import PushSubscriptionStore
from records.secretfile import read_or_create

__all__ = [
    "DEFAULT_PUSH_HOSTS",
    "EndpointPolicy",
    "InvalidSubscription",
    "PushChannel",
    "VapidKeys",
    "check_subscription_keys",
]

#: Hosts (and their subdomains) of the browsers' push services.
DEFAULT_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",  # Chrome, Edge, Opera, Chromium
    "push.services.mozilla.com",  # Firefox
    "push.apple.com",  # Safari
    "notify.windows.com",  # legacy Edge
)


class InvalidSubscription(ValueError):
    """A subscription the portal refuses; ``code`` says why (``endpoint``, ``keys``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class EndpointPolicy:
    """Which push endpoints the worker may POST to."""

    hosts: Sequence[str] = DEFAULT_PUSH_HOSTS
    #: Development and tests only: accept ``http://`` on loopback hosts listed in ``hosts``.
    allow_http_loopback: bool = False

    def check(self, endpoint: str) -> None:
        """:raises InvalidSubscription: if the worker must not POST to ``endpoint``."""
        try:
            parts = urlsplit(endpoint)
            host = (parts.hostname or "").lower()
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise InvalidSubscription("endpoint", "the endpoint is not a URL") from None
        if len(endpoint) > 2048 or not host or parts.username or parts.password:
            raise InvalidSubscription("endpoint", "the endpoint is not a push service URL")
        loopback = _is_loopback(host)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and loopback and self.allow_http_loopback
        ):
            raise InvalidSubscription("endpoint", "the endpoint must use HTTPS")
        if not any(host == h or host.endswith("." + h) for h in self.hosts):
            raise InvalidSubscription("endpoint", "the endpoint is not a known push service")

    def allows(self, endpoint: str) -> bool:
        try:
            self.check(endpoint)
        except InvalidSubscription:
            return False
        return True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def check_subscription_keys(p256dh: str, auth: str) -> None:
    """Check a browser's keys: a P-256 public point and a 16-byte auth secret.

    :raises InvalidSubscription: if they are malformed.
    """
    try:
        point = _b64url_decode(p256dh)
        secret = _b64url_decode(auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, TypeError):
        raise InvalidSubscription("keys", "the subscription keys are malformed") from None
    if len(point) != 65 or len(secret) != 16:
        raise InvalidSubscription("keys", "the subscription keys are malformed")


class VapidKeys:
    """The installation's VAPID key pair (ECDSA P-256)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, subject: str) -> None:
        """:param subject: the ``sub`` claim: ``mailto:`` address or ``https://`` origin."""
        self._private = private_key
        self._vapid = Vapid02(private_key)
        self.subject = subject

    @classmethod
    def load_or_create(cls, path: Path, subject: str) -> VapidKeys:
        """Read ``path`` (PEM), creating it (mode 0600) on first use."""

        def make() -> str:
            key = ec.generate_private_key(ec.SECP256R1())
            return key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii")

        pem = read_or_create(path, make).encode("ascii")
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{path} is not a P-256 private key")
        return cls(key, subject)

    @property
    def public_key(self) -> str:
        """The public key as browsers want it (``applicationServerKey``): base64url of the
        uncompressed point, without padding."""
        raw = self._private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def headers(self, endpoint: str) -> dict[str, str]:
        """The ``Authorization: vapid t=...,k=...`` header for one push service."""
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "sub": self.subject,
            "exp": int(time.time()) + 12 * 3600,
        }
        return dict(self._vapid.sign(claims))


class PushChannel:
    """Sends notices by Web Push to every browser the recipient subscribed."""

    channel_id: ClassVar[str] = "push"

    def __init__(
        self,
        subscriptions: PushSubscriptionStore,
        vapid: VapidKeys,
        *,
        public_url: str,
        policy: EndpointPolicy | None = None,
        timeout_seconds: float = 10.0,
        ttl_seconds: int = 7 * 24 * 3600,
    ) -> None:
        self.subscriptions = subscriptions
        self.vapid = vapid
        self.public_url = public_url.rstrip("/")
        self.policy = policy or EndpointPolicy()
        self.timeout_seconds = timeout_seconds
        self.ttl_seconds = ttl_seconds
        self._session = requests.Session()
        # Endpoints are fixed push-service URLs: no proxy settings from the environment
        # decide where a resident's message goes, and no redirects are followed.
        self._session.trust_env = False
        self._session.max_redirects = 0

    def check_config(self) -> None:
        """The key pair is loaded by construction; nothing to reach in advance."""

    def has_subscriptions(self, recipient: str) -> bool:
        return bool(self.subscriptions.for_recipient(recipient))

    def payload(self, request: ChannelDelivery, *, lang: str) -> bytes:
        """What the service worker receives: title, body, a link and a tag (JSON)."""
        notice = request.notice
        return json.dumps(
            {
                "title": notice.title.get(lang) or notice.title["ja"],
                "body": notice.body.get(lang) or notice.body["ja"],
                "url": f"{self.public_url}/",
                "tag": opaque_id(request.key),
                "lang": lang,
            },
            ensure_ascii=False,
        ).encode("utf-8")

    def send(self, request: ChannelDelivery, attempt: Attempt, *, lang: str) -> bool:
        """Push to each of the recipient's browsers not reached yet.

        :raises TransientDeliveryError: if a push service was unreachable or busy (the
            browsers reached are not pushed to again).
        :raises PermanentDeliveryError: if no browser could be reached and retrying will
            not change that (all gone, or none subscribed).
        """
        done = attempt.parts_done()
        delivered = any(outcome == "delivered" for outcome in done.values())
        transient: str | None = None
        data = self.payload(request, lang=lang)
        for sub in self.subscriptions.for_recipient(request.recipient):
            if sub.id in done:
                continue
            if not self.policy.allows(sub.endpoint):
                attempt.part_done(sub.id, "refused")
                continue
            status = self._post(sub.subscription_info(), data, topic=opaque_id(request.key))
            if status is None:
                transient = "push-unavailable"
            elif 200 <= status < 300:
                attempt.part_done(sub.id, "delivered")
                delivered = True
            elif status in (404, 410):
                self.subscriptions.remove(sub.id)
                attempt.part_done(sub.id, "gone")
            elif status == 429 or status >= 500:
                transient = f"http-{status}"
            else:  # 400, 403 (key mismatch), 413: this browser cannot be reached as is
                attempt.part_done(sub.id, f"http-{status}")
        if transient:
            raise TransientDeliveryError("a push service did not take the message", code=transient)
        if not delivered:
            raise PermanentDeliveryError(
                "no subscribed browser could be reached", code="push-no-subscription"
            )
        return True

    def _post(self, info: dict[str, object], data: bytes, *, topic: str) -> int | None:
        endpoint = str(info["endpoint"])
        headers = {**self.vapid.headers(endpoint), "Topic": topic, "Urgency": "normal"}
        try:
            response = WebPusher(info, requests_session=self._session).send(
                data,
                headers,
                ttl=self.ttl_seconds,
                content_encoding="aes128gcm",
                timeout=self.timeout_seconds,
            )
        except WebPushException:
            return 400  # malformed keys: the push service could not decrypt it either
        except requests.RequestException:
            return None
        return int(response.status_code)  # type: ignore[union-attr]
