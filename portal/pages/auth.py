"""Signing in and out of the pages.

A real deployment sends people to its identity provider (``identity_provider_url`` in the
settings) which comes back with a token; in development mode the sign-in page lists demo
users and issues their tokens with the local development issuer
(``PortalContext.dev_issuer``, present only in development mode).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from identity.demo import DemoPerson, issue_demo_token, sign_in_personas
from identity.devissuer import DevIssuer
from identity.principals import Caseworker
from portal.deps import context_of
from portal.web import session
from portal.web.render import page, redirect, render, same_site_path

router = APIRouter(include_in_schema=False)


#: The demo people of the development sign-in page: those of the one roster
#: (identity.demo) marked for it, so a token from the page and from ``madoguchi dev-token``
#: carry the same facts, which the development resident registry knows.
PERSONAS: tuple[DemoPerson, ...] = sign_in_personas()


def _dev_issuer(request: Request) -> DevIssuer | None:
    return context_of(request).dev_issuer


def _safe_next(target: str | None, default: str) -> str:
    # Only paths of this site: never an open redirect to another host.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@router.get("/login")
@page
async def login_page(
    request: Request,
    next_url: Annotated[str | None, Query(alias="next", max_length=512)] = None,
    reason: str | None = None,
) -> Response:
    """The sign-in page."""
    issuer = _dev_issuer(request)
    idp = context_of(request).sign_in_url
    return render(
        request,
        "login.html",
        personas=PERSONAS if issuer else (),
        dev=issuer is not None,
        idp=idp,
        next=_safe_next(next_url, ""),
        reason=reason if reason in ("required", "expired") else None,
    )


@router.post("/login")
@page
async def login(
    request: Request,
    persona: Annotated[str, Form(max_length=64)],
    next_url: Annotated[str, Form(alias="next", max_length=512)] = "",
) -> Response:
    """Development sign-in as a demo user."""
    issuer = _dev_issuer(request)
    chosen = next((p for p in PERSONAS if p.id == persona), None)
    if issuer is None or chosen is None:
        return render(
            request,
            "login.html",
            status=404 if issuer is None else 422,
            personas=PERSONAS if issuer else (),
            dev=issuer is not None,
            idp=None,
            next="",
            reason=None,
        )
    token = issue_demo_token(issuer, chosen.id)
    principal = context_of(request).verifier.verify(token)
    default = "/staff" if isinstance(principal, Caseworker) else "/my"
    response = redirect(_safe_next(next_url, default))
    session.start_session(request, response, token)
    if chosen.lang != "ja":
        response.set_cookie(
            "madoguchi_lang",
            chosen.lang,
            samesite="lax",
            secure=session.is_secure(request),
            path="/",
        )
    return response


@router.post("/logout")
@page
async def logout(request: Request) -> Response:
    """Sign out."""
    response = redirect("/?signed_out=1")
    session.end_session(request, response)
    return response


TEXT_SIZE_COOKIE = "madoguchi_text"


@router.get("/prefs/text-size")
async def text_size(request: Request, size: str = "normal", next: str = "/") -> Response:
    """Larger or standard text on every page, remembered in a cookie (a link, so it works
    without JavaScript); back to the page it was chosen on."""
    target = next if next.startswith("/") and not next.startswith(("//", "/\\")) else "/"
    response = redirect(same_site_path(target.split("?", 1)[0])
                        + ("?" + target.split("?", 1)[1] if "?" in target else ""))
    response.set_cookie(TEXT_SIZE_COOKIE, "large" if size == "large" else "normal",
                        max_age=365 * 24 * 3600, samesite="lax",
                        secure=session.is_secure(request), path="/", httponly=True)
    return response
