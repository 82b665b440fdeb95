"""Web Push to a push service on loopback that decrypts what it receives (RFC 8291)."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from notices import PermanentDeliveryError, TransientDeliveryError
from notices.dispatch import ChannelDelivery, NoticeSettings, NoticeSetup
from notices.push import EndpointPolicy, InvalidSubscription, check_subscription_keys
from records.inbox import InboxStore
from records.preferences import NoticePreferences
from tests.support.notices import T0, composed

RESIDENT = "applicant:res-7f3a"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """A subscription's private side, as a browser keeps it."""

    path: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )


@dataclass
class PushService:
    base: str
    browsers: dict[str, Browser] = field(default_factory=dict)
    answers: dict[str, list[int]] = field(default_factory=dict)  # path -> statuses to give
    received: list[tuple[str, dict, dict]] = field(default_factory=list)

    def browser(self, name: str) -> Browser:
        self.browsers[f"/push/{name}"] = Browser(f"/push/{name}")
        return self.browsers[f"/push/{name}"]


def verify_vapid(header: str, audience: str) -> str:
    """Check ``Authorization: vapid t=<JWT>,k=<key>``; return the subject."""
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    fields = dict(p.split("=", 1) for p in params.split(","))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(fields["k"]))
    head, payload, signature = fields["t"].split(".")
    raw = unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    public.verify(der, f"{head}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(unb64(head)) == {"typ": "JWT", "alg": "ES256"}
    claims = json.loads(unb64(payload))
    assert claims["aud"] == audience
    return claims["sub"]


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service: PushService

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            pending = service.answers.get(self.path)
            status = pending.pop(0) if pending else 201
            if status == 201:
                browser = service.browsers[self.path]
                assert self.headers["Content-Encoding"] == "aes128gcm"
                try:
                    subject = verify_vapid(self.headers["Authorization"], service.base)
                except InvalidSignature:
                    status = 403
                else:
                    text = http_ece.decrypt(
                        body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
                    )
                    service.received.append(
                        (
                            self.path,
                            json.loads(text),
                            {
                                "subject": subject,
                                "topic": self.headers["Topic"],
                                "ttl": self.headers["TTL"],
                            },
                        )
                    )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service = PushService(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


def build(engine, tmp_path, **settings):
    values = {
        "push_endpoint_hosts": ["127.0.0.1"],
        "push_allow_http_loopback": True,
        "vapid_subject": "mailto:ops@city.example.jp",
        **settings,
    }
    setup = NoticeSetup.build(
        NoticeSettings(**values),
        engine=engine,
        keys_dir=tmp_path / "keys",
        public_url="https://portal.example.jp",
    )
    return setup, setup.dispatcher(InboxStore(engine))


def subscribe(setup, service: PushService, name: str, recipient: str = RESIDENT):
    browser = service.browser(name)
    return setup.subscriptions.add(
        recipient, service.base + browser.path, browser.p256dh, b64(browser.auth)
    )


def request(**changes):
    values = dict(
        key="app-1:1:submitted:push",
        recipient=RESIDENT,
        application_id="app-1",
        event="submitted",
        notice=composed(),
        created_at=T0,
    )
    return ChannelDelivery(**{**values, **changes})


def test_push_is_encrypted_for_each_browser_and_decrypts(engine, tmp_path, push_service):
    setup, dispatcher = build(engine, tmp_path)
    subscribe(setup, push_service, "phone")
    subscribe(setup, push_service, "laptop")
    setup.preferences.put(RESIDENT, NoticePreferences(lang="en"))
    assert dispatcher.channels_for(RESIDENT, ["inbox", "push"]) == ["inbox", "push"]

    outcome = dispatcher.deliver("push", request())
    assert (outcome.status, outcome.sent_now) == ("delivered", True)
    assert sorted(path for path, _, _ in push_service.received) == ["/push/laptop", "/push/phone"]
    _, payload, meta = push_service.received[0]
    assert payload["title"] == "We have received your application"
    assert "Number app-1." in payload["body"]
    assert payload["lang"] == "en" and payload["url"] == "https://portal.example.jp/"
    assert meta["subject"] == "mailto:ops@city.example.jp"
    assert meta["topic"] == payload["tag"] and len(meta["topic"]) == 32
    assert int(meta["ttl"]) > 0

    # Retried (e.g. the activity's completion was lost): nobody is pushed to again.
    assert dispatcher.deliver("push", request()).sent_now is False
    assert len(push_service.received) == 2

    # The key pair persists, private and unchanged, across processes.
    pem = tmp_path / "keys" / "vapid.pem"
    assert pem.stat().st_mode & 0o777 == 0o600
    again, _ = build(engine, tmp_path)
    assert again.vapid.public_key == setup.vapid.public_key
    assert len(unb64(setup.vapid.public_key)) == 65


def test_gone_subscription_is_removed(engine, tmp_path, push_service):
    setup, dispatcher = build(engine, tmp_path)
    gone = subscribe(setup, push_service, "old")
    subscribe(setup, push_service, "new")
    push_service.answers["/push/old"] = [410]
    assert dispatcher.deliver("push", request()).status == "delivered"
    assert [s.endpoint.rsplit("/", 1)[1] for s in setup.subscriptions.for_recipient(RESIDENT)] == [
        "new"
    ]
    assert setup.subscriptions.get(gone.id) is None
    assert setup.deliveries.parts("app-1:1:submitted:push") == {
        gone.id: "gone",
        setup.subscriptions.for_recipient(RESIDENT)[0].id: "delivered",
    }

    # The last browser answers 404: the subscription goes, the notice falls back to the inbox.
    push_service.answers["/push/new"] = [404]
    with pytest.raises(PermanentDeliveryError):
        dispatcher.deliver("push", request(key="app-1:2:submitted:push"))
    assert setup.subscriptions.for_recipient(RESIDENT) == []
    record = setup.deliveries.get("app-1:2:submitted:push")
    assert (record.status, record.error, record.fallback) == (
        "permanent-failure",
        "push-no-subscription",
        "inbox",
    )
    assert [e.key for e in InboxStore(engine).for_recipient(RESIDENT)] == [
        "app-1:2:submitted:inbox"
    ]
    assert dispatcher.channels_for(RESIDENT, ["push"]) == ["inbox"]


def test_busy_push_service_is_retried_only_for_the_browser_not_reached(
    engine, tmp_path, push_service
):
    setup, dispatcher = build(engine, tmp_path)
    subscribe(setup, push_service, "a")
    subscribe(setup, push_service, "b")
    push_service.answers["/push/b"] = [503]
    with pytest.raises(TransientDeliveryError) as caught:
        dispatcher.deliver("push", request())
    assert caught.value.code == "http-503"
    assert [p for p, _, _ in push_service.received] == ["/push/a"]
    assert setup.deliveries.get("app-1:1:submitted:push").status == "temporary-failure"
    assert dispatcher.deliver("push", request()).status == "delivered"
    assert [p for p, _, _ in push_service.received] == ["/push/a", "/push/b"]


def test_push_respects_the_preference(engine, tmp_path, push_service):
    setup, dispatcher = build(engine, tmp_path)
    subscribe(setup, push_service, "a")
    setup.preferences.put(RESIDENT, NoticePreferences(push_enabled=False))
    assert dispatcher.channels_for(RESIDENT, ["push"]) == ["inbox"]
    assert dispatcher.deliver("push", request()).status == "skipped"
    assert push_service.received == []


def test_endpoint_policy_keeps_the_worker_off_internal_addresses():
    policy = EndpointPolicy()
    policy.check("https://fcm.googleapis.com/fcm/send/abc")
    policy.check("https://updates.push.services.mozilla.com/wpush/v2/abc")
    policy.check("https://web.push.apple.com/QGx")
    for bad in (
        "http://fcm.googleapis.com/x",
        "https://169.254.169.254/latest",
        "https://fcm.googleapis.com.evil.example/x",
        "https://user:pw@fcm.googleapis.com/",
        "http://127.0.0.1:8000/push",
        "not a url",
        "https://10.0.0.1/x",
    ):
        with pytest.raises(InvalidSubscription):
            policy.check(bad)
    loopback = EndpointPolicy(("127.0.0.1",), allow_http_loopback=True)
    loopback.check("http://127.0.0.1:8000/push")
    with pytest.raises(InvalidSubscription):
        loopback.check("http://10.0.0.1/push")


def test_subscription_keys_are_checked():
    browser = Browser("/x")
    check_subscription_keys(browser.p256dh, b64(browser.auth))
    for p256dh, auth in (
        (b64(b"\x04" + b"\x01" * 64), b64(browser.auth)),
        (browser.p256dh, b64(b"short")),
        ("!!", "??"),
    ):
        with pytest.raises(InvalidSubscription):
            check_subscription_keys(p256dh, auth)
