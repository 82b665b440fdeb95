"""Webhooks to a municipal system on loopback: HMAC verified, each event once despite 500s."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notices import TransientDeliveryError
from notices.dispatch import ChannelDelivery, NoticeSettings, NoticeSetup, deliver_via
from notices.webhook import verify_signature
from records.inbox import InboxStore
from tests.support.notices import T0, composed

SECRET = "s3cret-for-131016-municipality"


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answers to give first
    accepted: dict[str, dict] = field(default_factory=dict)  # delivery id -> event
    attempts: int = 0
    bad_signatures: int = 0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.attempts += 1
            # Verified as a municipal system would, with the standard library only.
            fields = dict(p.split("=", 1) for p in self.headers["Madoguchi-Signature"].split(","))
            expected = hmac.new(
                SECRET.encode(), fields["t"].encode() + b"." + body, hashlib.sha256
            ).hexdigest()
            fresh = abs(time.time() - int(fields["t"])) < 300
            if not (hmac.compare_digest(expected, fields["v1"]) and fresh):
                state.bad_signatures += 1
                status = 401
            elif state.statuses:
                status = state.statuses.pop(0)
            else:
                status = 204
                delivery = self.headers["Madoguchi-Delivery"]
                event = json.loads(body)
                assert event["id"] == delivery
                # A receiver deduplicates on the delivery id (documented contract).
                state.accepted.setdefault(delivery, event)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Receiver(f"http://127.0.0.1:{server.server_address[1]}/madoguchi")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


def build(engine, tmp_path, url, secret=SECRET):
    settings = NoticeSettings(
        webhooks={"131016": {"url": url, "secret": secret}}, push_enabled=False
    )
    setup = NoticeSetup.build(
        settings, engine=engine, keys_dir=tmp_path / "keys", public_url="https://portal.example.jp"
    )
    return setup, setup.dispatcher(InboxStore(engine))


def request(seq: int, event: str = "submitted", recipient: str = "municipality:131016"):
    return ChannelDelivery(
        key=f"app-1:{seq}:{event}:webhook",
        recipient=recipient,
        application_id="app-1",
        event=event,
        notice=composed(),
        created_at=T0,
        procedure="disaster-certificate",
        municipality="131016",
    )


def run_like_temporal(dispatcher, req, attempts: int = 10):
    """Call the activity body until it stops raising a retryable error, as Temporal does."""
    for _attempt in range(attempts):
        try:
            return deliver_via(dispatcher, req, req.notice, "webhook")
        except TransientDeliveryError:
            continue
    raise AssertionError("still failing")


def test_each_event_once_despite_injected_500s(engine, tmp_path, receiver):
    setup, dispatcher = build(engine, tmp_path, receiver.url)
    assert dispatcher.channels_for("municipality:131016", ["webhook"]) == ["inbox", "webhook"]
    assert dispatcher.channels_for("applicant:x", ["webhook"], municipality="131016") == [
        "inbox",
        "webhook",
    ]
    assert dispatcher.channels_for("municipality:999999", ["webhook"]) == ["inbox"]

    receiver.statuses = [500, 503]
    first = run_like_temporal(dispatcher, request(1))
    second = run_like_temporal(dispatcher, request(2, "issued", "applicant:res-7f3a"))
    assert first.status == second.status == "delivered"
    assert receiver.attempts == 4 and receiver.bad_signatures == 0
    events = sorted(receiver.accepted.values(), key=lambda e: e["event"])
    assert [e["event"] for e in events] == ["issued", "submitted"]
    submitted = events[1]
    assert submitted == {
        "id": submitted["id"],
        "event": "submitted",
        "application_id": "app-1",
        "procedure": "disaster-certificate",
        "municipality": "131016",
        "recipient": "municipality",
        "created_at": "2026-04-03T01:00:00+00:00",
        "title": {"ja": "申請が届きました", "en": "We have received your application"},
    }
    assert events[0]["recipient"] == "applicant"  # no applicant key, name or address

    record = setup.deliveries.get("app-1:1:submitted:webhook")
    assert (record.status, record.attempts, record.error) == ("delivered", 3, "http-503")
    # Temporal retrying after a lost completion: the receiver is not called again.
    assert run_like_temporal(dispatcher, request(1)).sent_now is False
    assert receiver.attempts == 4


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(408, True), (429, True), (502, True), (400, False), (401, False), (404, False), (301, False)],
)
def test_status_classification(engine, tmp_path, receiver, status, retryable):
    _setup, dispatcher = build(engine, tmp_path, receiver.url)
    receiver.statuses = [status]
    outcome = None
    try:
        outcome = deliver_via(dispatcher, request(1), request(1).notice, "webhook")
    except TransientDeliveryError as exc:
        assert retryable and exc.code == f"http-{status}"
    else:
        assert not retryable
        assert (outcome.status, outcome.error, outcome.fallback) == (
            "permanent-failure",
            f"http-{status}",
            None,
        )


def test_wrong_secret_is_refused_by_the_receiver(engine, tmp_path, receiver):
    _, dispatcher = build(engine, tmp_path, receiver.url, secret="another-secret-of-16+")
    outcome = deliver_via(dispatcher, request(1), request(1).notice, "webhook")
    assert outcome.status == "permanent-failure" and receiver.bad_signatures == 1


def test_unreachable_receiver_is_transient(engine, tmp_path):
    _, dispatcher = build(engine, tmp_path, "http://127.0.0.1:9/hook")
    with pytest.raises(TransientDeliveryError) as caught:
        dispatcher.deliver("webhook", request(1))
    assert caught.value.code == "webhook-unavailable"


def test_verify_signature_helper():
    from notices.webhook import sign

    body = b'{"a":1}'
    header = sign(SECRET, 1_700_000_000, body)
    assert verify_signature(SECRET, header, body, now=1_700_000_100)
    assert not verify_signature(SECRET, header, body + b" ", now=1_700_000_100)
    assert not verify_signature(SECRET, header, body, now=1_700_001_000)  # too old
    assert not verify_signature("x" * 20, header, body, now=1_700_000_100)
