"""The browser session and CSRF protection of the pages.

The session cookie ``madoguchi_session`` holds the identity provider's signed token itself
(HttpOnly, SameSite=Lax, Secure on https). Every request verifies the token again with the
app's ``TokenVerifier`` and then asks the server-side :class:`records.sessions.SessionStore`
whether the session was ended: signing out records the session's id (a digest of the
token's ``iss`` + ``jti``, or of the token when it has no ``jti``) as revoked until the
token expires, so the old cookie value, also sent as a bearer token, is refused
(:func:`verify_token` is the one check every path uses).

CSRF: every POST form carries a token. For a signed-in session it must equal the token
*stored with that session* on the server (bound at sign-in, or, for a session the pages did
not start, to the CSRF cookie it first comes with): a CSRF token of another session — say
an attacker's own, planted as a cookie — is refused. Without a session (the sign-in form)
it must equal the CSRF cookie (double submit). The CSRF cookie is HttpOnly,
SameSite=Strict, and on https named ``__Host-madoguchi_csrf`` (Secure, Path=/, no Domain),
so no other host, a sibling subdomain included, can set it. It is renewed at sign-in and
sign-out.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from identity.errors import IdentityError, TokenInvalid
from identity.principals import AnyPrincipal, Caseworker, Resident
from records.sessions import SessionStoreUnavailable
from services.refusals import Refused

SESSION_COOKIE = "madoguchi_session"
CSRF_COOKIE = "madoguchi_csrf"
#: The CSRF cookie's name on https: the browser then insists on Secure, Path=/, no Domain.
SECURE_CSRF_COOKIE = "__Host-madoguchi_csrf"
CSRF_FIELD = "csrf_token"
_MAX_AGE = 8 * 3600


class LoginRequired(Exception):
    """No valid session: the caller is sent to the sign-in page."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("login required")
        self.expired = expired


class CsrfRejected(Exception):
    """A POST without the matching CSRF token."""


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_cookie_name(request: Request) -> str:
    """``__Host-madoguchi_csrf`` on https, ``madoguchi_csrf`` on plain-http development."""
    return SECURE_CSRF_COOKIE if is_secure(request) else CSRF_COOKIE


def sessions_unavailable() -> Refused:
    return Refused("unavailable", "sessions_unavailable",
                   "ただいまログイン状態を確認できません。少し待って、もう一度お試しください。",
                   "We cannot check your sign-in right now. Please try again in a moment.")


# -- the session's server-side id and revocation -------------------------------------------


def session_id(context: Any, token: str) -> tuple[str, float]:
    """The server-side id of a *verified* token's session and when the row may go.

    The id is a SHA-256 digest of ``iss`` + ``jti`` (of the whole token when it has no
    ``jti``); it is kept until ``exp`` plus the issuer's leeway, after which the verifier
    refuses the token anyway.
    """
    segment = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    issuer, jti = str(claims.get("iss", "")), claims.get("jti")
    if isinstance(jti, str) and jti:
        material = b"jti\x00" + issuer.encode() + b"\x00" + jti.encode("utf-8", "surrogatepass")
    else:
        material = b"token\x00" + token.encode("utf-8", "surrogatepass")
    leeway = max((i.leeway_seconds for i in context.verifier.issuers if i.issuer == issuer),
                 default=60)
    return hashlib.sha256(material).hexdigest(), float(claims["exp"]) + leeway


@dataclass
class Session:
    """A verified, not revoked session: who, its server-side id, its CSRF token if bound."""

    principal: AnyPrincipal
    key: str
    expires_at: float
    csrf: str | None


def verify_token(context: Any, token: str) -> Session:
    """Verify ``token`` (cookie or bearer) and refuse it if its session was ended.

    :raises identity.errors.IdentityError: if the token is not valid, or
        :class:`~identity.errors.TokenInvalid` if its session was signed out.
    :raises Refused: ``unavailable`` if the session store does not answer (fail closed).
    """
    principal = context.verifier.verify(token)
    key, expires_at = session_id(context, token)
    try:
        record = context.sessions.get(key)
    except SessionStoreUnavailable:
        raise sessions_unavailable() from None
    if record is not None and record.revoked:
        raise TokenInvalid("session ended by signing out")
    return Session(principal, key, expires_at, record.csrf if record else None)


def cookie_session(request: Request) -> Session | None:
    """The session of the cookie, verified once per request; None without a valid one."""
    if hasattr(request.state, "madoguchi_session"):
        return request.state.madoguchi_session
    request.state.madoguchi_session = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with contextlib.suppress(IdentityError):
            request.state.madoguchi_session = verify_token(request.app.state.portal, token)
    return request.state.madoguchi_session


def current_principal(request: Request) -> Resident | Caseworker | None:
    """The verified principal of the session cookie, or None (no cookie, a bad or an ended
    one)."""
    found = cookie_session(request)
    return found.principal if found is not None else None  # type: ignore[return-value]


def require_principal(request: Request) -> Resident | Caseworker:
    principal = current_principal(request)
    if principal is None:
        raise LoginRequired(expired=SESSION_COOKIE in request.cookies)
    return principal


def start_session(request: Request, response: Response, token: str) -> None:
    """Set the session cookie of a verified ``token`` and bind a fresh CSRF token to it."""
    context = request.app.state.portal
    key, expires_at = session_id(context, token)
    try:
        csrf = context.sessions.bind_csrf(key, secrets.token_urlsafe(32), expires_at)
    except SessionStoreUnavailable:
        raise sessions_unavailable() from None
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/",
    )
    _set_csrf(request, response, csrf)


def end_session(request: Request, response: Response) -> None:
    """Sign out: the session (if still valid) is revoked on the server, the cookie goes."""
    found = cookie_session(request)
    if found is not None:
        try:
            request.app.state.portal.sessions.revoke(found.key, found.expires_at)
        except SessionStoreUnavailable:
            raise sessions_unavailable() from None
        request.state.madoguchi_session = None
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request)
    )
    _set_csrf(request, response, secrets.token_urlsafe(32))


# -- CSRF ----------------------------------------------------------------------------------


def _cookie_csrf(request: Request) -> str | None:
    value = request.cookies.get(csrf_cookie_name(request))
    return value if value and 20 <= len(value) <= 100 else None


def _bound_csrf(request: Request, found: Session, candidate: str | None) -> str | None:
    """The session's CSRF token; a session the pages did not start (its cookie set by
    other means) is bound on first use to ``candidate``."""
    if found.csrf is None and candidate is not None:
        try:
            found.csrf = request.app.state.portal.sessions.bind_csrf(
                found.key, candidate, found.expires_at)
        except SessionStoreUnavailable:
            raise sessions_unavailable() from None
    return found.csrf


def expected_csrf(request: Request) -> str | None:
    """The CSRF token a change must carry: the signed-in session's, else the cookie's."""
    found = cookie_session(request)
    if found is not None:
        return _bound_csrf(request, found, _cookie_csrf(request))
    return _cookie_csrf(request)


def csrf_matches(request: Request, supplied: Any) -> bool:
    expected = expected_csrf(request)
    return bool(isinstance(supplied, str) and expected
                and hmac.compare_digest(supplied.encode(), expected.encode()))


def csrf_token(request: Request) -> str:
    """The token to put in forms: the session's, the cookie's, or a new one (the cookie is
    set by :func:`finish`)."""
    found = cookie_session(request)
    cookie = _cookie_csrf(request)
    if found is not None:
        value = _bound_csrf(request, found, cookie or secrets.token_urlsafe(32))
        assert value is not None
        if value != cookie:
            request.state.new_csrf = value
        return value
    if cookie:
        return cookie
    fresh = getattr(request.state, "new_csrf", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_csrf = fresh
    return fresh


def finish(request: Request, response: Response) -> Response:
    """Set the CSRF cookie if this response created the token."""
    fresh = getattr(request.state, "new_csrf", None)
    if fresh is not None and csrf_cookie_name(request) not in _set_cookie_names(response):
        _set_csrf(request, response, fresh)
    return response


def check_csrf(request: Request, form: Any) -> None:
    """:raises CsrfRejected: if the form's token is not the one :func:`expected_csrf`
    names."""
    if not csrf_matches(request, form.get(CSRF_FIELD)):
        raise CsrfRejected()


def _set_csrf(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        csrf_cookie_name(request), value, httponly=True, samesite="strict",
        secure=is_secure(request), path="/"
    )


def _set_cookie_names(response: Response) -> set[str]:
    names = set()
    for key, value in response.raw_headers:
        if key.lower() == b"set-cookie":
            names.add(value.split(b"=", 1)[0].decode("latin-1"))
    return names
