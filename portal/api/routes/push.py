"""Web Push subscriptions of the signed-in resident, and the VAPID public key.

The resident is the one of the bearer token, or of the pages' session cookie (then a change
must carry the CSRF header, see :data:`portal.deps.ApiResident`).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from portal.deps import ApiResident, App
from portal.errors import ErrorBody

router = APIRouter(tags=["notices"])


class SubscriptionKeys(BaseModel):
    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class SubscriptionIn(BaseModel):
    """What ``PushSubscription.toJSON()`` gives in the browser."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=1, max_length=2048)
    keys: SubscriptionKeys
    expirationTime: float | None = None  # the browser's field name


class SubscriptionOut(BaseModel):
    id: str
    endpoint: str
    created_at: datetime


class EndpointIn(BaseModel):
    endpoint: str = Field(min_length=1, max_length=2048)


class VapidKey(BaseModel):
    key: str = Field(description="applicationServerKey: base64url, uncompressed P-256 point")


@router.get("/api/push/vapid-public-key", responses={404: {"model": ErrorBody}})
async def vapid_public_key(app: App) -> VapidKey:
    """The public key browsers subscribe with (no sign-in needed)."""
    return VapidKey(key=app.notices.push_key())


@router.get("/api/push-subscriptions", responses={c: {"model": ErrorBody} for c in (401, 403)})
async def list_subscriptions(resident: ApiResident, app: App) -> list[SubscriptionOut]:
    """The browsers the resident receives push notices in."""
    return [SubscriptionOut(id=s.id, endpoint=s.endpoint, created_at=s.created_at)
            for s in app.notices.subscriptions(resident)]


@router.post(
    "/api/push-subscriptions",
    status_code=201,
    responses={c: {"model": ErrorBody} for c in (401, 403, 422)},
)
async def add_subscription(
    body: SubscriptionIn, resident: ApiResident, app: App
) -> SubscriptionOut:
    """Receive push notices in this browser (idempotent per endpoint)."""
    sub = app.notices.subscribe(resident, body.endpoint, body.keys.p256dh, body.keys.auth)
    return SubscriptionOut(id=sub.id, endpoint=sub.endpoint, created_at=sub.created_at)


@router.delete(
    "/api/push-subscriptions", status_code=204,
    responses={c: {"model": ErrorBody} for c in (401, 403)},
)
async def remove_subscription_by_endpoint(
    body: EndpointIn, resident: ApiResident, app: App
) -> Response:
    """Stop push notices to the browser with this endpoint (no error if already gone)."""
    app.notices.unsubscribe_endpoint(resident, body.endpoint)
    return Response(status_code=204)


@router.delete(
    "/api/push-subscriptions/{subscription_id}",
    status_code=204,
    responses={c: {"model": ErrorBody} for c in (401, 403, 404)},
)
async def remove_subscription(subscription_id: str, resident: ApiResident, app: App) -> Response:
    """Stop push notices to one of the resident's browsers."""
    app.notices.unsubscribe(resident, subscription_id)
    return Response(status_code=204)
