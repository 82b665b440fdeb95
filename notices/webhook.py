"""The webhook channel: notices to municipal systems over HTTPS, signed with HMAC-SHA256.

Each municipality configures a URL and a shared secret. A delivery is one ``POST`` of a
small JSON document (ids, event, time and the notice title; no names or addresses)::

    {"id": "<delivery id>", "event": "submitted", "application_id": "app-…",
     "procedure": "disaster-certificate", "municipality": "131016",
     "recipient": "applicant", "created_at": "2026-04-03T01:00:00+00:00",
     "title": {"ja": "…", "en": "…"}}

with headers::

    Madoguchi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
    Madoguchi-Delivery: <delivery id>   (the same on every retry: deduplicate on it)
    Madoguchi-Event: submitted

A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in
constant time, and refuses timestamps older than a few minutes (replay). Retries are
Temporal's: 408, 429, 5xx, timeouts and network errors raise a transient error; any other
answer but 2xx is permanent (redirects are not followed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from notices import PermanentDeliveryError, TransientDeliveryError
from notices.delivery import Attempt, ChannelDelivery, opaque_id

__all__ = ["SIGNATURE_HEADER", "WebhookChannel", "WebhookTarget", "sign", "verify_signature"]

SIGNATURE_HEADER = "Madoguchi-Signature"


class WebhookTarget(BaseModel):
    """Where one municipality's system receives notices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl
    secret: SecretStr = Field(description="Shared HMAC secret, at least 16 characters")

    def model_post_init(self, _context: object) -> None:
        if len(self.secret.get_secret_value()) < 16:
            raise ValueError("a webhook secret must have at least 16 characters")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Madoguchi-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(
        secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance_seconds: int = 300
) -> bool:
    """Check a ``Madoguchi-Signature`` header (for receivers written in Python)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


class WebhookChannel:
    """Posts notices to the case's municipality's system."""

    channel_id: ClassVar[str] = "webhook"

    def __init__(
        self,
        targets: dict[str, WebhookTarget],
        *,
        timeout_seconds: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        """:param targets: by municipality code (地方公共団体コード)."""
        self.targets = dict(targets)
        self.timeout_seconds = timeout_seconds
        self._client = client or httpx.Client(follow_redirects=False, trust_env=False)

    def check_config(self) -> None:
        """Targets are validated on construction; receivers are not called in advance."""

    def applies_to(self, municipality: str | None) -> bool:
        return municipality is not None and municipality in self.targets

    def body(self, request: ChannelDelivery) -> bytes:
        """The JSON document posted for ``request`` (stable across retries)."""
        kind = request.recipient.partition(":")[0]
        document = {
            "id": opaque_id(request.key),
            "event": request.event,
            "application_id": request.application_id,
            "procedure": request.procedure,
            "municipality": request.recipient_municipality,
            "recipient": kind,
            "created_at": request.created_at.isoformat(),
            "title": dict(request.notice.title),
        }
        if request.values:
            document["values"] = request.values  # inside the signed body
        return json.dumps(
            document, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode("utf-8")

    def send(self, request: ChannelDelivery, attempt: Attempt, *, lang: str) -> bool:
        """POST the notice; see :class:`notices.delivery.OutboundChannel`."""
        target = self.targets.get(request.recipient_municipality or "")
        if target is None:
            raise PermanentDeliveryError(
                "no webhook for this municipality", code="webhook-not-configured"
            )
        body = self.body(request)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(target.secret.get_secret_value(), int(time.time()), body),
            "Madoguchi-Delivery": opaque_id(request.key),
            "Madoguchi-Event": request.event,
            "User-Agent": "madoguchi-webhook/1",
        }
        try:
            response = self._client.post(
                str(target.url), content=body, headers=headers, timeout=self.timeout_seconds
            )
        except httpx.TimeoutException:
            raise TransientDeliveryError("webhook timed out", code="webhook-timeout") from None
        except httpx.TransportError as exc:
            raise TransientDeliveryError(
                f"webhook unreachable: {type(exc).__name__}", code="webhook-unavailable"
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return True
        if status in (408, 429) or status >= 500:
            raise TransientDeliveryError(f"webhook answered {status}", code=f"http-{status}")
        raise PermanentDeliveryError(f"webhook answered {status}", code=f"http-{status}")

    def close(self) -> None:
        self._client.close()
