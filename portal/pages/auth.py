"""Signing in and out of the pages.

A real deployment sends people to its identity provider (``identity_provider_url`` in the
settings) which comes back with a token; in development mode the sign-in page lists demo
users and issues their tokens with the local development issuer
(``PortalContext.dev_issuer``, present only in development mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from identity.devissuer import DevIssuer
from identity.principals import Caseworker
from portal.deps import context_of
from portal.web import session
from portal.web.render import page, redirect, render, same_site_path

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Persona:
    """A demo user of the development sign-in page."""

    id: str
    name: str
    description: dict[str, str]
    kind: str  # resident | caseworker
    name_kana: str | None = None
    birthdate: date | None = None
    address: str | None = None  # the registered address a card sign-in gives (基本4情報)
    municipalities: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    lang: str = "ja"


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "demo-1",
        "山田 太郎",
        {"ja": "住民（千代田区）", "en": "Resident (Chiyoda)"},
        "resident",
        name_kana="ヤマダ タロウ",
        address="東京都千代田区九段南1-2-1",
        birthdate=date(1985, 4, 1),
    ),
    Persona(
        "demo-elderly",
        "鈴木 キヨ",
        {
            "ja": "高齢の住民（87歳、大きな文字が見やすい方）",
            "en": "Elderly resident (87, prefers large text)",
        },
        "resident",
        name_kana="スズキ キヨ",
        address="東京都千代田区神田駿河台2-1",
        birthdate=date(1939, 2, 11),
    ),
    Persona(
        "demo-nonnative",
        "NGUYEN VAN AN",
        {"ja": "外国籍の住民（英語で利用）", "en": "Non-native resident (uses English)"},
        "resident",
        name_kana="グエン ヴァン アン",
        address="東京都千代田区麹町1-1",
        birthdate=date(1996, 8, 30),
        lang="en",
    ),
    Persona(
        "demo-proxy",
        "田中 一郎",
        {"ja": "代理人（家族の代わりに申請する方）", "en": "Proxy (applies for a family member)"},
        "resident",
        name_kana="タナカ イチロウ",
        address="東京都千代田区大手町1-1-1",
        birthdate=date(1970, 12, 3),
    ),
    Persona(
        "cw-131016-1",
        "千代田区 受付・調査担当",
        {"ja": "職員 千代田区（受付・調査）", "en": "Staff, Chiyoda (intake, survey)"},
        "caseworker",
        municipalities=("131016",),
        roles=("reviewer", "surveyor"),
    ),
    Persona(
        "cw-131016-2",
        "千代田区 決裁者",
        {"ja": "職員 千代田区（決裁）", "en": "Staff, Chiyoda (approval)"},
        "caseworker",
        municipalities=("131016",),
        roles=("approver",),
    ),
    Persona(
        "cw-141003-1",
        "横浜市 担当",
        {"ja": "職員 横浜市（すべての権限）", "en": "Staff, Yokohama (all roles)"},
        "caseworker",
        municipalities=("141003",),
        roles=("reviewer", "surveyor", "approver"),
    ),
)


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
    if chosen.kind == "resident":
        token = issuer.issue_resident(
            chosen.id, chosen.name, name_kana=chosen.name_kana, birthdate=chosen.birthdate,
            address=chosen.address,
        )
    else:
        token = issuer.issue_caseworker(
            chosen.id, chosen.municipalities, chosen.roles, name=chosen.name
        )
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
