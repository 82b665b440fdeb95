"""The notification settings page in headless Chromium: service worker, subscribe control,
and the preferences form without JavaScript.

Offline, the browser's push service (FCM for Chromium) is unreachable: ``subscribe()``
rejects or never settles, and the page must say so within its timeout. That the rest of
the path works (the subscription saved through the API with the session cookie and the
CSRF token) is shown by handing the page's ``save()`` a subscription made here; delivery
itself is proven against a loopback push service in tests/notices/test_notices_push.py.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.async_api import expect

from identity.verify import TokenVerifier
from notices.dispatch import NoticeSettings, NoticeSetup
from portal.app import create_app
from portal.deps import PortalContext


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
async def served(stack, tmp_path) -> AsyncIterator[tuple[str, NoticeSetup, object]]:
    setup = NoticeSetup.build(
        NoticeSettings(),
        engine=stack.inbox.engine,
        keys_dir=tmp_path / "keys",
        public_url="http://127.0.0.1",
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
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(300):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", setup, stack
    finally:
        server.should_exit = True
        await task
        sock.close()


async def signed_in(browser, url: str, stack, *, javascript: bool = True):
    context = await browser.new_context(java_script_enabled=javascript, locale="ja-JP")
    token = stack.resident("taro")["Authorization"].split(" ", 1)[1]
    await context.add_cookies(
        [
            {
                "name": "madoguchi_session",
                "value": token,
                "url": url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    return context


async def test_service_worker_and_subscribe_control(browser, served):
    url, setup, stack = served
    context = await signed_in(browser, url, stack)
    await context.grant_permissions(["notifications"], origin=url)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await page.goto(f"{url}/notifications")
        control = page.locator("#push-control")
        await control.wait_for(state="visible")
        scope = await page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
        assert scope == f"{url}/"
        script = await page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
        assert script == f"{url}/sw.js"

        await page.get_by_role("button", name="このブラウザで受け取る").click()
        # Up to the browser's push service: offline it fails or hangs; the page reports it.
        # Polled from here: the page's CSP forbids the eval that wait_for_function uses.
        await expect(control).to_have_attribute(
            "data-state", re.compile(r"^(unreachable|denied|on)$"), timeout=20_000)
        state = await control.get_attribute("data-state")
        status = await page.locator("[data-push-status]").inner_text()
        if state == "on":  # a push service was reachable after all
            assert setup.subscriptions.for_recipient(_recipient(stack, setup)) != []
        else:
            assert status in (
                "ブラウザの通知サービスにつながりませんでした。"
                "時間をおいて、もう一度お試しください。",
                "ブラウザの設定で通知が許可されていません。",
            )

        # The step after subscribe(): the page saves the subscription via the API.
        key = ec.generate_private_key(ec.SECP256R1())
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        subscription = {
            "endpoint": "https://fcm.googleapis.com/fcm/send/browser-test",
            "keys": {"p256dh": b64(point), "auth": b64(os.urandom(16))},
        }
        status_code = await page.evaluate("s => window.madoguchiPush.save(s)", subscription)
        assert status_code == 201
        assert await control.get_attribute("data-state") == "on"
        saved = setup.subscriptions.for_recipient(_recipient(stack, setup))
        assert [s.endpoint for s in saved][-1] == subscription["endpoint"]

        await page.get_by_role("button", name="このブラウザでの受け取りをやめる").click()
        await expect(control).to_have_attribute("data-state", "off")
        assert errors == []
    finally:
        await context.close()


async def test_preferences_form_without_javascript(browser, served):
    url, setup, stack = served
    context = await signed_in(browser, url, stack, javascript=False)
    page = await context.new_page()
    try:
        await page.goto(f"{url}/notifications")
        assert await page.locator("#push-control").is_hidden()
        await page.get_by_label("英語（English）").check()
        await page.get_by_label("お知らせをメールでも受け取る").check()
        await page.get_by_role("button", name="保存する").click()
        # No address: the form comes back with the error, linked to the field.
        assert "メールで受け取るときは" in await page.locator(".error-summary").inner_text()
        await page.get_by_label("メールアドレス").fill("taro@example.jp")
        await page.get_by_role("button", name="保存する").click()
        await page.wait_for_url(f"{url}/notifications?saved=1")
        assert "設定を保存しました" in await page.locator("[role=status]").first.inner_text()
        prefs = setup.preferences.get(_recipient(stack, setup))
        assert (prefs.lang, prefs.email, prefs.email_enabled) == ("en", "taro@example.jp", True)
    finally:
        await context.close()


def _recipient(stack, setup) -> str:
    # The page keys preferences by the applicant key of the signed-in resident.
    principal = stack.cases and TokenVerifier(stack.issuer.trusted_issuers()).verify(
        stack.resident("taro")["Authorization"].split(" ", 1)[1]
    )
    return f"applicant:{stack.cases.applicant_key(principal)}"
