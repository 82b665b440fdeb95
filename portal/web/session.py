"""The browser session and CSRF protection of the pages.

The session cookie ``madoguchi_session`` holds the identity provider's signed token itself
(HttpOnly, SameSite=Lax, Secure on https). Nothing is kept on the server: every request
verifies the token again with the app's ``TokenVerifier``, so an expired or forged cookie
is simply not a session.

CSRF: every POST form carries a token that must equal the ``madoguchi_csrf`` cookie
(double submit, HttpOnly, SameSite=Strict). A cross-site page can neither read that cookie
nor set it, so it cannot forge the form field; SameSite=Lax on the session is a second
line. The CSRF cookie is renewed at sign-in and sign-out.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request, Response

from identity.errors import IdentityError
from identity.principals import Caseworker, Resident

SESSION_COOKIE = "madoguchi_session"
CSRF_COOKIE = "madoguchi_csrf"
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


def current_principal(request: Request) -> Resident | Caseworker | None:
    """The verified principal of the session cookie, or None (no cookie or a bad one)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return request.app.state.portal.verifier.verify(token)
    except IdentityError:
        return None


def require_principal(request: Request) -> Resident | Caseworker:
    principal = current_principal(request)
    if principal is None:
        raise LoginRequired(expired=SESSION_COOKIE in request.cookies)
    return principal


def start_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/",
    )
    _set_csrf(request, response, secrets.token_urlsafe(32))


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request)
    )
    _set_csrf(request, response, secrets.token_urlsafe(32))


def csrf_token(request: Request) -> str:
    """The token to put in forms: the cookie's, or a new one (set by :func:`finish`)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    fresh = getattr(request.state, "new_csrf", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_csrf = fresh
    return fresh


def finish(request: Request, response: Response) -> Response:
    """Set the CSRF cookie if this response created the token."""
    fresh = getattr(request.state, "new_csrf", None)
    if fresh is not None and CSRF_COOKIE not in _set_cookie_names(response):
        _set_csrf(request, response, fresh)
    return response


def check_csrf(request: Request, form: Any) -> None:
    sent = form.get(CSRF_FIELD)
    expected = request.cookies.get(CSRF_COOKIE)
    if not (
        isinstance(sent, str) and expected and hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise CsrfRejected()


def _set_csrf(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, value, httponly=True, samesite="strict", secure=is_secure(request), path="/"
    )


def _set_cookie_names(response: Response) -> set[str]:
    names = set()
    for key, value in response.raw_headers:
        if key.lower() == b"set-cookie":
            names.add(value.split(b"=", 1)[0].decode("latin-1"))
    return names
