"""The notice routes: preferences, push subscriptions, the VAPID key, the settings page."""

from __future__ import annotations

import base64
import os

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity.verify import TokenVerifier
from notices.dispatch import NoticeSettings, NoticeSetup
from portal.app import create_app
from portal.deps import PortalContext


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_keys() -> dict[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"p256dh": b64(point), "auth": b64(os.urandom(16))}


@pytest.fixture
async def portal(stack, tmp_path):
    setup = NoticeSetup.build(
        NoticeSettings(),
        engine=stack.inbox.engine,
        keys_dir=tmp_path / "keys",
        public_url="http://portal",
    )
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = PortalContext(
        cases=stack.cases,
        verifier=TokenVerifier(stack.issuer.trusted_issuers()),
        inbox=stack.inbox,
        register=stack.register,
        blobs=stack.blobs,
        notices=setup,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://portal"
    ) as http:
        yield http, setup, stack


async def test_preferences_round_trip_and_validation(portal):
    http, _setup, stack = portal
    taro = stack.resident("taro")
    got = await http.get("/api/preferences", headers=taro)
    assert got.status_code == 200
    assert got.json() == {"lang": "ja", "email": None, "email_enabled": False, "push_enabled": True}
    put = await http.put(
        "/api/preferences",
        headers=taro,
        json={
            "lang": "en",
            "email": "taro@example.jp",
            "email_enabled": True,
            "push_enabled": False,
        },
    )
    assert put.status_code == 200 and put.json()["email"] == "taro@example.jp"
    assert (await http.get("/api/preferences", headers=taro)).json()["lang"] == "en"
    # Another resident sees their own defaults.
    other = await http.get("/api/preferences", headers=stack.resident("hanako"))
    assert other.json()["email"] is None

    for bad in (
        {"lang": "fr"},
        {"email": "not an address"},
        {"email_enabled": True},
        {"email": "a@b.jp\r\nBcc: x@y.jp"},
    ):
        refused = await http.put("/api/preferences", headers=taro, json=bad)
        assert refused.status_code == 422, bad
        assert set(refused.json()) == {"error", "message", "details"}

    assert (await http.get("/api/preferences")).status_code == 401
    caseworker = stack.caseworker("cw-1")
    assert (await http.get("/api/preferences", headers=caseworker)).status_code == 403


async def test_push_subscriptions(portal):
    http, setup, stack = portal
    taro, hanako = stack.resident("taro"), stack.resident("hanako")
    key = (await http.get("/api/push/vapid-public-key")).json()["key"]
    assert key == setup.vapid.public_key

    sub = {
        "endpoint": "https://fcm.googleapis.com/fcm/send/abc123",
        "keys": browser_keys(),
        "expirationTime": None,
    }
    created = await http.post("/api/push-subscriptions", headers=taro, json=sub)
    assert created.status_code == 201
    again = await http.post("/api/push-subscriptions", headers=taro, json=sub)
    assert again.json()["id"] == created.json()["id"]
    listed = (await http.get("/api/push-subscriptions", headers=taro)).json()
    assert [s["endpoint"] for s in listed] == [sub["endpoint"]]
    assert (await http.get("/api/push-subscriptions", headers=hanako)).json() == []

    for endpoint in ("http://169.254.169.254/latest/meta-data", "https://internal.example/x"):
        refused = await http.post(
            "/api/push-subscriptions", headers=taro, json={**sub, "endpoint": endpoint}
        )
        assert refused.status_code == 422
        assert refused.json()["error"] == "invalid_subscription"
    bad_keys = {**sub, "keys": {"p256dh": "AAAA", "auth": "BBBB"}}
    assert (
        await http.post("/api/push-subscriptions", headers=taro, json=bad_keys)
    ).status_code == 422

    # Someone else cannot remove it; the owner can, by id or by endpoint.
    sub_id = created.json()["id"]
    assert (
        await http.delete(f"/api/push-subscriptions/{sub_id}", headers=hanako)
    ).status_code == 404
    assert (
        await http.request(
            "DELETE", "/api/push-subscriptions", headers=taro, json={"endpoint": sub["endpoint"]}
        )
    ).status_code == 204
    assert (await http.get("/api/push-subscriptions", headers=taro)).json() == []


async def test_cookie_session_needs_the_csrf_token(portal):
    http, _setup, stack = portal
    token = stack.resident("taro")["Authorization"].split(" ", 1)[1]
    cookies = {"madoguchi_session": token, "madoguchi_csrf": "c" * 32}
    http.cookies.update(cookies)
    assert (await http.get("/api/preferences")).status_code == 200
    body = {"lang": "en", "email": None, "email_enabled": False, "push_enabled": True}
    assert (await http.put("/api/preferences", json=body)).status_code == 403
    ok = await http.put("/api/preferences", json=body, headers={"X-Madoguchi-CSRF": "c" * 32})
    assert ok.status_code == 200


async def test_settings_page_without_javascript(portal):
    http, _setup, stack = portal
    token = stack.resident("taro")["Authorization"].split(" ", 1)[1]
    assert (await http.get("/notifications")).status_code == 303  # to the sign-in page
    http.cookies.update({"madoguchi_session": token, "madoguchi_csrf": "c" * 32})
    page = await http.get("/notifications")
    assert page.status_code == 200
    assert "通知の設定" in page.text and 'name="email"' in page.text
    assert "<noscript>" in page.text and "/static/push.js" in page.text

    form = {"csrf_token": "c" * 32, "lang": "en", "email": "taro@example.jp", "email_enabled": "on"}
    saved = await http.post("/notifications", data=form)
    assert saved.status_code == 303 and saved.headers["location"] == "/notifications?saved=1"
    prefs = (await http.get("/api/preferences")).json()
    assert prefs == {
        "lang": "en",
        "email": "taro@example.jp",
        "email_enabled": True,
        "push_enabled": False,
    }

    refused = await http.post("/notifications", data={**form, "email": ""})
    assert refused.status_code == 422
    assert "メールで受け取るときは、メールアドレスを入力してください。" in refused.text
    assert 'aria-invalid="true"' in refused.text
    forged = await http.post("/notifications", data={**form, "csrf_token": "x" * 32})
    assert forged.status_code == 403

    english = await http.get("/notifications?lang=en")
    assert "Notification settings" in english.text


async def test_service_worker_is_served_from_the_root(portal):
    http, _, _ = portal
    sw = await http.get("/sw.js")
    assert sw.status_code == 200
    assert sw.headers["service-worker-allowed"] == "/"
    assert sw.headers["content-type"].startswith("text/javascript")
    assert "showNotification" in sw.text
    js = await http.get("/static/push.js")
    assert js.status_code == 200 and "pushManager.subscribe" in js.text
