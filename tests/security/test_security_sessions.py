"""Sessions end at sign-out on the server, and CSRF tokens belong to one session (#15).

The session cookie is the identity provider's token itself: deleting the cookie alone
would leave a stolen copy working until it expires, as a cookie and as a bearer token.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from records.db import create_schema, make_engine
from records.sessions import SessionStore, SessionStoreUnavailable


def _browser(stack) -> httpx.AsyncClient:
    """A browser of its own (own cookie jar) on the stack's app."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=stack.http._transport.app),
                             base_url="http://portal")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def _sign_in(http: httpx.AsyncClient, persona: str = "demo-1") -> str:
    page = await http.get("/login")
    answer = await http.post("/login", data={"persona": persona, "csrf_token": _csrf(page.text)})
    assert answer.status_code == 303, answer.text
    return http.cookies["madoguchi_session"]


async def test_sign_out_ends_the_session_for_the_cookie_and_as_bearer(stack):
    async with _browser(stack) as first, _browser(stack) as second:
        token = await _sign_in(first)
        await _sign_in(second)  # the same person, in another browser
        assert (await first.get("/my")).status_code == 200
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await stack.http.get("/api/applications", headers=bearer)).status_code == 200

        my = await first.get("/my")
        out = await first.post("/logout", data={"csrf_token": _csrf(my.text)})
        assert out.status_code == 303

        # The old cookie value, put back by whoever copied it, is no session ...
        async with _browser(stack) as thief:
            thief.cookies.set("madoguchi_session", token)
            refused = await thief.get("/my")
            assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
            api = await thief.get("/api/preferences")  # the cookie-or-bearer dependency
            assert api.status_code == 401
        # ... nor a bearer token.
        answer = await stack.http.get("/api/applications", headers=bearer)
        assert answer.status_code == 401
        assert answer.json()["error"] and answer.json()["message"]["ja"]
        assert (await stack.http.get("/api/preferences", headers=bearer)).status_code == 401
        # The person's other session goes on.
        assert (await second.get("/my")).status_code == 200
        assert (await second.get("/api/preferences")).status_code == 200


async def test_a_csrf_token_of_another_session_is_refused(stack):
    async with _browser(stack) as victim, _browser(stack) as attacker:
        await _sign_in(victim)
        await _sign_in(attacker, "demo-elderly")
        theirs = _csrf((await attacker.get("/notifications")).text)
        mine = _csrf((await victim.get("/notifications")).text)
        assert theirs != mine
        form = {"lang": "ja", "email": ""}
        # The attacker plants their own CSRF cookie and token in the victim's browser.
        victim.cookies.set("madoguchi_csrf", theirs)
        forged = await victim.post("/notifications", data={**form, "csrf_token": theirs})
        assert forged.status_code == 403
        # The same from JavaScript (the cookie-or-bearer API with the CSRF header).
        prefs = {"lang": "ja", "email": None, "email_enabled": False, "push_enabled": True}
        api = await victim.put("/api/preferences", json=prefs, headers={"X-Madoguchi-CSRF": theirs})
        assert api.status_code == 403 and api.json()["error"] == "csrf_failed"
        # The session's own token still works, whatever the cookie says.
        ok = await victim.post("/notifications", data={**form, "csrf_token": mine})
        assert ok.status_code == 303
        ok = await victim.put("/api/preferences", json=prefs, headers={"X-Madoguchi-CSRF": mine})
        assert ok.status_code == 200


async def test_a_new_sign_in_gets_a_new_csrf_token(stack):
    async with _browser(stack) as http:
        await _sign_in(http)
        before = _csrf((await http.get("/my")).text)
        await http.post("/logout", data={"csrf_token": before})
        await _sign_in(http)
        after = _csrf((await http.get("/my")).text)
        assert after != before
        assert (await http.post("/logout", data={"csrf_token": before})).status_code == 403


@pytest.mark.parametrize("https", [False, True])
async def test_the_csrf_cookie_is_host_only_on_https(stack, https):
    scheme = "https" if https else "http"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=stack.http._transport.app),
                                 base_url=f"{scheme}://portal") as http:
        page = await http.get("/login")
        cookie = next(c for c in page.headers.get_list("set-cookie") if "csrf" in c)
        name = cookie.split("=", 1)[0]
        if https:
            assert name == "__Host-madoguchi_csrf"
            assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
        else:
            assert name == "madoguchi_csrf"
        signed_in = await http.post("/login", data={"persona": "demo-1",
                                                    "csrf_token": _csrf(page.text)})
        assert signed_in.status_code == 303
        assert (await http.get("/my")).status_code == 200


def test_the_store_keeps_rows_until_the_token_expires(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sessions.db'}")
    create_schema(engine)
    now = [1_000_000.0]
    store = SessionStore(engine, purge_every=0, clock=lambda: now[0])
    assert store.get("a" * 64) is None
    assert store.bind_csrf("a" * 64, "first", now[0] + 100) == "first"
    assert store.bind_csrf("a" * 64, "second", now[0] + 100) == "first"  # bound once
    store.revoke("a" * 64, now[0] + 100)
    store.revoke("b" * 64, now[0] + 50)
    assert store.get("a" * 64).revoked and store.get("a" * 64).csrf == "first"
    assert store.get("b" * 64).revoked
    now[0] += 60
    assert store.get("b" * 64) is None  # its token has expired: nothing to refuse
    store.revoke("c" * 64, now[0] + 10)  # writing purges expired rows
    assert store.count() == 2


def test_the_store_fails_closed(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sessions.db'}")  # no schema: every call fails
    store = SessionStore(engine)
    for call in (lambda: store.get("k"), lambda: store.revoke("k", time.time() + 9),
                 lambda: store.bind_csrf("k", "v", time.time() + 9)):
        with pytest.raises(SessionStoreUnavailable) as caught:
            call()
        assert isinstance(caught.value.__cause__, OperationalError)


async def test_without_its_session_store_the_portal_refuses_structured_never_a_traceback(
        stack, tmp_path):
    """Fail closed: a store that cannot say whether a session was ended refuses it, with
    a structured 503 (API) or the busy page (pages)."""
    app = stack.http._transport.app
    token = stack.issuer.issue_resident("demo-1", "山田 太郎")
    broken = SessionStore(make_engine(f"sqlite:///{tmp_path / 'no-schema.db'}"))
    working, app.state.portal.sessions = app.state.portal.sessions, broken
    try:
        async with _browser(stack) as http:
            api = await http.get("/api/applications", headers={"Authorization": f"Bearer {token}"})
            assert api.status_code == 503
            body = api.json()
            assert body["error"] == "sessions_unavailable" and body["message"]["en"]
            http.cookies.set("madoguchi_session", token)
            page = await http.get("/my", headers={"Accept": "text/html"})
            assert page.status_code == 503 and "Traceback" not in page.text
            assert "ログイン状態を確認できません" in page.text
    finally:
        app.state.portal.sessions = working

