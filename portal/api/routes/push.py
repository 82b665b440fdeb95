"""Web Push subscriptions of the signed-in resident, and the VAPID public key.

Also the dependencies the notice routes share: the notice setup, and the resident signed
in by a bearer token or by the ``madoguchi_session`` cookie (the portal's pages). A request
authenticated by the cookie that changes something must carry the page's CSRF token
(``X-Madoguchi-CSRF`` header equal to the ``madoguchi_csrf`` cookie, the pages' double-submit
token, see :mod:`portal.web.session`), so another site cannot use the resident's cookie.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from identity.errors import TokenInvalid
from identity.principals import Resident
from notices.dispatch import NoticeSetup
from notices.push import InvalidSubscription, check_subscription_keys
from portal.deps import Context
from portal.errors import ErrorBody
from workflows.cases import CaseError

SESSION_COOKIE = "madoguchi_session"
CSRF_COOKIE = "madoguchi_csrf"
CSRF_HEADER = "X-Madoguchi-CSRF"

router = APIRouter(tags=["notices"])
_bearer = HTTPBearer(auto_error=False)


def notice_setup(request: Request) -> NoticeSetup:
    """The process's :class:`NoticeSetup` (``PortalContext.notices``)."""
    setup = request.app.state.portal.notices
    if setup is None:
        raise CaseError(
            "notices_unavailable",
            503,
            "通知の設定は現在使えません。",
            "Notification settings are not available right now.",
        )
    return setup


Notices = Annotated[NoticeSetup, Depends(notice_setup)]


@dataclass(frozen=True)
class SignedInResident:
    """A resident, the recipient id of their notices, and how they signed in."""

    resident: Resident
    recipient: str
    token: str
    by_cookie: bool

    def check_csrf(self, supplied: str | None, expected: str | None) -> None:
        """:raises CaseError: 403 if signed in by cookie and ``supplied`` is not the page's
        CSRF token (``expected``, the ``madoguchi_csrf`` cookie)."""
        if self.by_cookie and not (
            supplied and expected and hmac.compare_digest(supplied.encode(), expected.encode())
        ):
            raise CaseError(
                "csrf_failed",
                403,
                "ページの有効期限が切れました。ページを開き直してください。",
                "This page has expired. Please reload it and try again.",
            )


def signed_in_resident(
    request: Request,
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SignedInResident:
    """The resident of the bearer token, else of the session cookie.

    :raises TokenInvalid: (401) if there is neither or the token is not valid.
    :raises CaseError: (403) for a caseworker.
    """
    if credentials is not None and credentials.scheme.lower() == "bearer":
        token, by_cookie = credentials.credentials, False
    else:
        token, by_cookie = request.cookies.get(SESSION_COOKIE, ""), True
    if not token:
        raise TokenInvalid("no bearer token or session cookie")
    principal = context.verifier.verify(token)
    if not isinstance(principal, Resident):
        raise CaseError(
            "resident_only",
            403,
            "この画面は住民の方のためのものです。",
            "This is for residents only.",
        )
    recipient = f"applicant:{context.cases.applicant_key(principal)}"
    return SignedInResident(principal, recipient, token, by_cookie)


CurrentResident = Annotated[SignedInResident, Depends(signed_in_resident)]


def _checked(request: Request, who: SignedInResident) -> SignedInResident:
    if request.method not in ("GET", "HEAD"):
        who.check_csrf(request.headers.get(CSRF_HEADER), request.cookies.get(CSRF_COOKIE))
    return who


def _api_resident(request: Request, who: CurrentResident) -> SignedInResident:
    return _checked(request, who)


ApiResident = Annotated[SignedInResident, Depends(_api_resident)]


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


def _push_setup(notices: NoticeSetup) -> NoticeSetup:
    if notices.vapid is None:
        raise CaseError(
            "push_disabled",
            404,
            "この窓口ではプッシュ通知を使えません。",
            "Push notifications are not available here.",
        )
    return notices


@router.get("/api/push/vapid-public-key", responses={404: {"model": ErrorBody}})
async def vapid_public_key(notices: Notices) -> VapidKey:
    """The public key browsers subscribe with (no sign-in needed)."""
    vapid = _push_setup(notices).vapid
    assert vapid is not None
    return VapidKey(key=vapid.public_key)


@router.get("/api/push-subscriptions", responses={c: {"model": ErrorBody} for c in (401, 403)})
async def list_subscriptions(who: ApiResident, notices: Notices) -> list[SubscriptionOut]:
    """The browsers the resident receives push notices in."""
    return [
        SubscriptionOut(id=s.id, endpoint=s.endpoint, created_at=s.created_at)
        for s in notices.subscriptions.for_recipient(who.recipient)
    ]


@router.post(
    "/api/push-subscriptions",
    status_code=201,
    responses={c: {"model": ErrorBody} for c in (401, 403, 422)},
)
async def add_subscription(
    body: SubscriptionIn, who: ApiResident, notices: Notices
) -> SubscriptionOut:
    """Receive push notices in this browser (idempotent per endpoint)."""
    _push_setup(notices)
    try:
        notices.endpoint_policy.check(body.endpoint)
        check_subscription_keys(body.keys.p256dh, body.keys.auth)
    except InvalidSubscription as exc:
        raise CaseError(
            "invalid_subscription",
            422,
            "このブラウザの通知の登録内容を受け付けられませんでした。",
            "This browser's push subscription cannot be accepted.",
            [
                {
                    "path": f"/{exc.code}",
                    "code": exc.code,
                    "message": {"ja": "受け付けられない値です。", "en": str(exc)},
                }
            ],
        ) from None
    sub = notices.subscriptions.add(who.recipient, body.endpoint, body.keys.p256dh, body.keys.auth)
    return SubscriptionOut(id=sub.id, endpoint=sub.endpoint, created_at=sub.created_at)


@router.delete(
    "/api/push-subscriptions", status_code=204,
    responses={c: {"model": ErrorBody} for c in (401, 403)},
)
async def remove_subscription_by_endpoint(
    body: EndpointIn, who: ApiResident, notices: Notices
) -> Response:
    """Stop push notices to the browser with this endpoint (no error if already gone)."""
    from records.push import subscription_id

    notices.subscriptions.remove(subscription_id(body.endpoint), recipient=who.recipient)
    return Response(status_code=204)


@router.delete(
    "/api/push-subscriptions/{subscription_id}",
    status_code=204,
    responses={c: {"model": ErrorBody} for c in (401, 403, 404)},
)
async def remove_subscription(subscription_id: str, who: ApiResident, notices: Notices) -> Response:
    """Stop push notices to one of the resident's browsers."""
    if not notices.subscriptions.remove(subscription_id, recipient=who.recipient):
        raise CaseError("not_found", 404, "見つかりません。", "Not found.")
    return Response(status_code=204)
