"""E-mail notices through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from madoguchi.up import free_port
from notices import PermanentDeliveryError, TransientDeliveryError
from notices.dispatch import ChannelDelivery, NoticeSettings, NoticeSetup, deliver_via
from records.inbox import InboxStore
from records.preferences import NoticePreferences
from tests.support.notices import T0, composed

RESIDENT = "applicant:res-7f3a"
PUBLIC = "https://madoguchi.example.jp"


def setup_for(engine, tmp_path, port, **settings):
    values = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "窓口 <noreply@city.example.jp>",
        "smtp_timeout_seconds": 5,
        "push_enabled": False,
        **settings,
    }
    return NoticeSetup.build(
        NoticeSettings(**values), engine=engine, keys_dir=tmp_path / "keys", public_url=PUBLIC
    )


def request(seq=1, **changes):
    values = dict(
        key=f"app-1:{seq}:submitted:email",
        recipient=RESIDENT,
        application_id="app-1",
        event="submitted",
        notice=composed(),
        created_at=T0,
    )
    return ChannelDelivery(**{**values, **changes})


def opt_in(setup, lang="ja", email="taro@example.com"):
    setup.preferences.put(RESIDENT, NoticePreferences(lang=lang, email=email, email_enabled=True))


def test_email_content_headers_and_language(engine, tmp_path, smtp_server):
    setup = setup_for(engine, tmp_path, smtp_server.port)
    dispatcher = setup.dispatcher(InboxStore(engine))
    opt_in(setup, lang="en")

    outcome = dispatcher.deliver("email", request())
    assert (outcome.status, outcome.sent_now, outcome.confirmed) == ("delivered", True, True)
    [got] = smtp_server.handler.received
    msg = got.message
    assert got.mail_from == "noreply@city.example.jp"
    assert got.rcpt_tos == ["taro@example.com"]
    assert msg["To"] == "taro@example.com"
    assert msg["Subject"] == "We have received your application"
    assert msg["From"] == "窓口 <noreply@city.example.jp>"
    assert msg["Date"] == "Fri, 03 Apr 2026 01:00:00 +0000"
    assert msg["Message-ID"] == dispatcher._outbound["email"].message_id("app-1:1:submitted:email")
    assert msg["Message-ID"].endswith("@city.example.jp>") and "app-1" not in msg["Message-ID"]
    assert msg["List-Unsubscribe"] == f"<{PUBLIC}/notifications>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Content-Language"] == "en"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert 'We have received "Disaster certificate". Number app-1.' in text
    assert "\n.This line starts with a dot." in text  # dot-stuffing undone by the server
    assert f"{PUBLIC}/notifications" in text and "申請" not in text
    assert (
        "We have received &#34;Disaster certificate&#34;" in html
        or "We have received &quot;Disaster certificate&quot;" in html
    )
    assert '<html lang="en">' in html

    # The same delivery again: nothing sent, nothing changed.
    again = dispatcher.deliver("email", request())
    assert (again.status, again.sent_now) == ("delivered", False)
    assert len(smtp_server.handler.received) == 1
    [record] = setup.deliveries.for_application("app-1")
    assert (record.status, record.attempts, record.channel, record.confirmed) == (
        "delivered",
        1,
        "email",
        True,
    )


def test_email_in_japanese_by_preference(engine, tmp_path, smtp_server):
    setup = setup_for(engine, tmp_path, smtp_server.port)
    dispatcher = setup.dispatcher(InboxStore(engine))
    opt_in(setup, lang="ja")
    dispatcher.deliver("email", request(lang="en"))  # the saved preference wins
    [got] = smtp_server.handler.received
    assert got.message["Subject"] == "申請が届きました"
    assert got.message["Content-Language"] == "ja"
    text = got.message.get_body(("plain",)).get_content()
    assert "「罹災証明書の交付申請」の申請が届きました。受付番号は app-1 です。" in text
    assert "通知の設定" in got.message.get_body(("html",)).get_content()


def test_channels_follow_preferences(engine, tmp_path, smtp_server):
    setup = setup_for(engine, tmp_path, smtp_server.port)
    dispatcher = setup.dispatcher(InboxStore(engine))
    wanted = ["inbox", "email", "push", "webhook"]
    assert dispatcher.channels_for(RESIDENT, wanted) == ["inbox"]  # no address, e-mail off
    opt_in(setup)
    assert dispatcher.channels_for(RESIDENT, wanted) == ["inbox", "email"]
    assert dispatcher.channels_for(RESIDENT, ["inbox"]) == ["inbox"]
    assert dispatcher.channels_for("municipality:131016", wanted) == ["inbox"]
    setup.preferences.put(RESIDENT, NoticePreferences(email="taro@example.com"))
    assert dispatcher.channels_for(RESIDENT, wanted) == ["inbox"]
    outcome = dispatcher.deliver("email", request())
    assert outcome.status == "skipped" and smtp_server.handler.received == []
    assert setup.deliveries.for_application("app-1") == []


def test_starttls_with_a_self_signed_certificate(engine, tmp_path, starttls_server, tls_files):
    setup = setup_for(
        engine,
        tmp_path,
        starttls_server.port,
        smtp_security="starttls-required",
        smtp_ca_file=str(tls_files.cert),
    )
    dispatcher = setup.dispatcher(InboxStore(engine))
    opt_in(setup)
    assert dispatcher.deliver("email", request()).status == "delivered"
    [got] = starttls_server.handler.received
    assert got.tls is True


def test_untrusted_certificate_is_not_used(engine, tmp_path, starttls_server):
    setup = setup_for(engine, tmp_path, starttls_server.port, smtp_security="starttls")
    dispatcher = setup.dispatcher(InboxStore(engine))
    opt_in(setup)
    with pytest.raises(TransientDeliveryError) as caught:
        dispatcher.deliver("email", request())
    assert caught.value.code == "smtp-tls"
    assert starttls_server.handler.received == []


def test_starttls_required_refuses_a_plain_server(engine, tmp_path, smtp_server):
    setup = setup_for(engine, tmp_path, smtp_server.port, smtp_security="starttls-required")
    dispatcher = setup.dispatcher(InboxStore(engine))
    opt_in(setup)
    with pytest.raises(TransientDeliveryError) as caught:
        dispatcher.deliver("email", request())
    assert caught.value.code == "smtp-no-starttls"
    assert smtp_server.handler.received == []


def test_outage_retries_then_falls_back_to_the_inbox(engine, tmp_path):
    now = [dt.datetime.now(dt.UTC)]
    setup = setup_for(engine, tmp_path, free_port(), email_give_up_after_hours=1)
    inbox = InboxStore(engine)
    dispatcher = setup.dispatcher(inbox, clock=lambda: now[0])
    opt_in(setup)

    for _ in range(2):  # as Temporal would retry, within the window
        with pytest.raises(TransientDeliveryError) as caught:
            dispatcher.deliver("email", request())
        assert caught.value.code == "smtp-unavailable"
        now[0] += dt.timedelta(minutes=20)
    record = setup.deliveries.get("app-1:1:submitted:email")
    assert (record.status, record.attempts, record.error) == (
        "temporary-failure",
        2,
        "smtp-unavailable",
    )
    assert inbox.for_recipient(RESIDENT) == []

    now[0] += dt.timedelta(minutes=30)  # past the 1-hour window
    with pytest.raises(PermanentDeliveryError):
        dispatcher.deliver("email", request())
    record = setup.deliveries.get("app-1:1:submitted:email")
    assert (record.status, record.attempts, record.error, record.fallback) == (
        "permanent-failure",
        3,
        "gave-up:smtp-unavailable",
        "inbox",
    )
    [entry] = inbox.for_recipient(RESIDENT)
    assert entry.key == "app-1:1:submitted:inbox"

    # The activity body: a permanent failure is an outcome, not an exception.
    outcome = deliver_via(dispatcher, request(), composed(), "email")
    assert (outcome.status, outcome.error, outcome.fallback) == (
        "permanent-failure",
        "gave-up:smtp-unavailable",
        "inbox",
    )
    # The inbox activity running afterwards adds nothing.
    dispatcher.deliver("inbox", request(key="app-1:1:submitted:inbox"))
    assert len(inbox.for_recipient(RESIDENT)) == 1


def test_refused_recipient_is_permanent(engine, tmp_path, smtp_server):
    smtp_server.handler.on_rcpt = lambda address: "550 5.1.1 No such user"
    setup = setup_for(engine, tmp_path, smtp_server.port)
    dispatcher = setup.dispatcher(InboxStore(engine))
    opt_in(setup)
    with pytest.raises(PermanentDeliveryError) as caught:
        dispatcher.deliver("email", request())
    assert caught.value.code == "smtp-550"
    record = setup.deliveries.get("app-1:1:submitted:email")
    assert (record.status, record.error, record.fallback) == (
        "permanent-failure",
        "smtp-550",
        "inbox",
    )
    assert "example.com" not in str(caught.value)


def test_temporary_refusal_after_data_is_retried(engine, tmp_path, smtp_server):
    answers = ["451 4.3.0 Try again later"]
    smtp_server.handler.on_data = lambda: answers.pop() if answers else None
    setup = setup_for(engine, tmp_path, smtp_server.port)
    dispatcher = setup.dispatcher(InboxStore(engine))
    opt_in(setup)
    with pytest.raises(TransientDeliveryError):
        dispatcher.deliver("email", request())
    record = setup.deliveries.get("app-1:1:submitted:email")
    assert (record.status, record.handed_over) == ("temporary-failure", False)
    assert dispatcher.deliver("email", request()).sent_now is True
    record = setup.deliveries.get("app-1:1:submitted:email")
    assert (record.status, record.attempts, record.confirmed) == ("delivered", 2, True)


CHILD = textwrap.dedent("""
    import sys
    from notices.dispatch import ChannelDelivery, NoticeSettings, NoticeSetup
    from records.db import create_schema, make_engine
    from records.inbox import InboxStore
    sys.path.insert(0, sys.argv[3])
    from tests.support.notices import composed, T0
    engine = make_engine(sys.argv[1])
    settings = NoticeSettings(smtp_host="127.0.0.1", smtp_port=int(sys.argv[2]),
                              smtp_security="none", smtp_from="窓口 <noreply@city.example.jp>",
                              push_enabled=False)
    setup = NoticeSetup.build(settings, engine=engine, keys_dir=None, public_url="https://x.jp")
    request = ChannelDelivery(key="app-1:1:submitted:email", recipient="applicant:res-7f3a",
                              application_id="app-1", event="submitted", notice=composed(),
                              created_at=T0)
    setup.dispatcher(InboxStore(engine)).deliver("email", request)
    print("finished")
""")


def run_child_killed_by(engine, tmp_path, server, hook: str) -> subprocess.CompletedProcess:
    """Run one delivery in another process and SIGKILL it from inside the SMTP server."""
    child: list[subprocess.Popen] = []

    def kill(*_args):
        os.kill(child[0].pid, signal.SIGKILL)
        time.sleep(0.2)  # the client is gone before the server answers
        return None

    setattr(server.handler, hook, kill)
    child.append(
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(engine.url),
                str(server.port),
                str(Path(__file__).resolve().parents[2]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    out, err = child[0].communicate(timeout=60)
    setattr(server.handler, hook, None)
    assert child[0].returncode == -signal.SIGKILL, err
    assert "finished" not in out
    return child[0]


@pytest.mark.parametrize("phase", ["after DATA accepted", "before DATA"])
def test_exactly_one_message_across_a_crash_mid_send(engine, tmp_path, smtp_server, phase):
    setup = setup_for(engine, tmp_path, smtp_server.port)
    opt_in(setup)
    hook = "on_data" if phase == "after DATA accepted" else "on_rcpt"
    run_child_killed_by(engine, tmp_path, smtp_server, hook)

    record = setup.deliveries.get("app-1:1:submitted:email")
    assert record.status == "sending"  # the dead attempt never recorded an outcome
    assert len(smtp_server.handler.received) == (1 if hook == "on_data" else 0)

    # Temporal retries after the start-to-close timeout; the dead attempt's lease is over.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    dispatcher = setup.dispatcher(InboxStore(engine), clock=lambda: later)
    outcome = dispatcher.deliver("email", request())
    assert outcome.status == "delivered"
    assert len(smtp_server.handler.received) == 1  # exactly one message either way
    record = setup.deliveries.get("app-1:1:submitted:email")
    assert record.attempts == 2
    if hook == "on_data":
        # Handed over before the end of DATA, reply lost with the process: not resent.
        assert (outcome.sent_now, outcome.confirmed, record.confirmed) == (False, False, False)
    else:
        assert (outcome.sent_now, outcome.confirmed, record.confirmed) == (True, True, True)
    assert dispatcher.deliver("email", request()).sent_now is False
    assert len(smtp_server.handler.received) == 1


def test_a_running_attempt_holds_the_delivery(engine, tmp_path, smtp_server):
    setup = setup_for(engine, tmp_path, smtp_server.port)
    opt_in(setup)
    run_child_killed_by(engine, tmp_path, smtp_server, "on_rcpt")
    # Right after the crash the lease still runs: a concurrent attempt must not send.
    dispatcher = setup.dispatcher(InboxStore(engine))
    with pytest.raises(TransientDeliveryError) as caught:
        dispatcher.deliver("email", request())
    assert caught.value.code == "in-progress"
    assert smtp_server.handler.received == []
