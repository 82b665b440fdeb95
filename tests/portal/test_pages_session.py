"""Sessions and CSRF of the pages, over the ASGI app (no browser)."""

from __future__ import annotations

import re

import httpx
import pytest

from identity.verify import TokenVerifier
from portal.app import create_app
from portal.deps import PortalContext


def _client(stack, *, dev: bool, https: bool = False) -> httpx.AsyncClient:
    context = PortalContext(
        cases=stack.cases,
        verifier=TokenVerifier(stack.issuer.trusted_issuers()),
        inbox=stack.inbox,
        register=stack.register,
        blobs=stack.blobs,
    )
    if dev:
        context.dev_issuer = stack.issuer  # type: ignore[attr-defined]
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = context
    scheme = "https" if https else "http"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"{scheme}://portal")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("https", [False, True])
async def test_sign_in_sets_a_strict_session_cookie(stack, https):
    async with _client(stack, dev=True, https=https) as http:
        page = await http.get("/login")
        assert "鈴木 キヨ" in page.text and "NGUYEN VAN AN" in page.text
        refused = await http.post("/login", data={"persona": "demo-1"})
        assert refused.status_code == 403  # no CSRF token
        answer = await http.post(
            "/login",
            data={"persona": "demo-1", "next": "//evil.example", "csrf_token": _csrf(page.text)},
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/my"
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("madoguchi_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert ("Secure" in cookie) is https
        mine = await http.get("/my")
        assert mine.status_code == 200 and "山田 太郎" in mine.text


async def test_without_the_development_issuer_there_is_no_demo_login(stack):
    async with _client(stack, dev=False) as http:
        page = await http.get("/login")
        assert "demo-1" not in page.text
        token = "t" * 43
        http.cookies.set("madoguchi_csrf", token)
        answer = await http.post("/login", data={"persona": "demo-1", "csrf_token": token})
        assert answer.status_code == 404
        assert "madoguchi_session" not in answer.headers.get("set-cookie", "")


async def test_a_forged_session_is_no_session(stack):
    async with _client(stack, dev=True) as http:
        http.cookies.set("madoguchi_session", "eyJhbGciOiJub25lIn0.e30.")
        answer = await http.get("/my")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/my&reason=expired"
        staff = await http.get("/staff/cases/app-x")
        assert staff.headers["location"].startswith("/login")
