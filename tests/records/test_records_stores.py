"""The record stores without a module of their own (drafts, attachments, deliveries, push
subscriptions, jti replay, sessions, notice preferences), each on SQLite and PostgreSQL
(tests/records/conftest.py), and two processes writing the same keys at once."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from records.attachments import Attachment, AttachmentStore
from records.deliveries import DeliveryLog, notice_deliveries
from records.drafts import DraftConflict, DraftStore, drafts
from records.inbox import inbox_entries
from records.jti import RecordsReplayStore
from records.preferences import NoticePreferences, PreferenceStore
from records.push import PushSubscriptionStore
from records.sessions import SessionStore, web_sessions
from workflows.codec import KeyRing

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --- drafts -------------------------------------------------------------------------


def test_a_draft_is_saved_sealed_and_only_its_owner_sees_it(engine):
    store = DraftStore(engine, KeyRing.generate())
    draft = store.create("res-1", "disaster-certificate", "131016", {"name": "山田 太郎"})
    assert store.get("res-1", draft.id).data == {"name": "山田 太郎"}
    assert store.get("res-2", draft.id) is None
    assert [d.id for d in store.list("res-1")] == [draft.id] and store.list("res-2") == []
    with engine.connect() as conn:
        sealed = conn.execute(select(drafts.c.sealed)).scalar_one()
    assert "山田".encode() not in sealed


def test_two_devices_saving_one_draft_one_wins(engine):
    store = DraftStore(engine, KeyRing.generate())
    draft = store.create("res-1", "disaster-certificate", "131016", {"step": 1})
    saved = store.save("res-1", draft.id, {"step": 2}, revision=1)
    assert saved.revision == 2 and saved.data == {"step": 2}
    with pytest.raises(DraftConflict):
        store.save("res-1", draft.id, {"step": "stale"}, revision=1)
    assert store.get("res-1", draft.id).data == {"step": 2}
    assert store.delete("res-2", draft.id) is False
    assert store.delete("res-1", draft.id) is True and store.get("res-1", draft.id) is None


# --- attachments --------------------------------------------------------------------


def test_an_attachment_round_trips_and_its_id_is_never_reused(engine):
    store = AttachmentStore(engine)
    attachment = Attachment(id="att-1", owner="res-1", procedure="disaster-certificate",
                            field="photos", media_type="image/png", size=3, sha256="0" * 64,
                            filename="家.png", blob_key="attachments/att-1", created_at=T0)
    store.add(attachment)
    assert store.get("att-1") == attachment and store.get("att-2") is None
    with pytest.raises(IntegrityError) as refused:
        store.add(attachment)
    # PostgreSQL's "Key (id)=(att-1) already exists" stays out of the message (and logs).
    assert "att-1" not in str(refused.value) and "家.png" not in str(refused.value)


# --- notice deliveries --------------------------------------------------------------


def test_a_delivery_is_claimed_once_taken_over_after_its_lease_and_finished(engine):
    log = DeliveryLog(engine)
    args = {"application_id": "wf-1", "channel": "email", "event": "issued",
            "lease": timedelta(minutes=5)}
    assert log.claim("wf-1:issued:email", now=T0, **args).state == "go"
    assert log.claim("wf-1:issued:email", now=T0 + timedelta(minutes=1), **args).state == "busy"
    taken = log.claim("wf-1:issued:email", now=T0 + timedelta(minutes=6), **args)
    assert taken.state == "go" and taken.record.attempts == 2
    done = log.finish("wf-1:issued:email", "delivered", now=T0 + timedelta(minutes=7),
                      confirmed=True)
    assert done.status == "delivered" and done.confirmed
    assert log.claim("wf-1:issued:email", now=T0 + timedelta(hours=1), **args).state == "done"
    log.record_part("wf-1:issued:email", "to-1", "delivered")
    log.record_part("wf-1:issued:email", "to-1", "gone")  # a retry changes nothing
    assert log.parts("wf-1:issued:email") == {"to-1": "delivered"}
    assert [r.key for r in log.for_application("wf-1")] == ["wf-1:issued:email"]


# --- push subscriptions -------------------------------------------------------------


def test_the_same_endpoint_again_replaces_the_subscription(engine):
    store = PushSubscriptionStore(engine)
    first = store.add("res-1", "https://push.example/abc", "p1", "a1")
    again = store.add("res-2", "https://push.example/abc", "p2", "a2")
    assert again.id == first.id and again.recipient == "res-2" and again.auth == "a2"
    assert store.for_recipient("res-1") == [] and len(store.for_recipient("res-2")) == 1
    assert store.remove(first.id, recipient="res-1") is False
    assert store.remove(first.id, recipient="res-2") is True and store.get(first.id) is None


# --- jti replay ---------------------------------------------------------------------


def test_a_token_id_is_accepted_once_until_it_expires(engine):
    store = RecordsReplayStore(engine, purge_every=0)
    now = T0.timestamp()
    assert store.first_use("https://idp", "jti-1", now + 60, now) is True
    assert store.first_use("https://idp", "jti-1", now + 60, now + 1) is False
    assert store.first_use("https://other-idp", "jti-1", now + 60, now + 1) is True
    assert store.first_use("https://idp", "jti-2", now + 200, now + 120) is True
    assert store.count() == 1  # both jti-1 rows expired and were purged


# --- sessions -----------------------------------------------------------------------


def test_a_session_keeps_its_first_csrf_token_and_stays_revoked(engine):
    now = T0.timestamp()
    store = SessionStore(engine, clock=lambda: now)
    assert store.get("s-1") is None
    assert store.bind_csrf("s-1", "csrf-a", now + 3600) == "csrf-a"
    assert store.bind_csrf("s-1", "csrf-b", now + 3600) == "csrf-a"
    store.revoke("s-1", now + 3600)
    store.revoke("s-1", now + 3600)
    assert store.get("s-1").revoked and store.get("s-1").csrf == "csrf-a"
    store.revoke("s-2", now + 3600)  # signed out before any request bound a token
    assert store.get("s-2").revoked and store.count() == 2


# --- notice preferences -------------------------------------------------------------


def test_preferences_default_then_saved_then_replaced(engine):
    store = PreferenceStore(engine)
    assert store.find("res-1") is None and store.get("res-1") == NoticePreferences()
    store.put("res-1", NoticePreferences(lang="en", email="taro@example.jp", email_enabled=True))
    store.put("res-1", NoticePreferences(lang="en", email="taro@example.jp", push_enabled=False))
    saved = store.get("res-1")
    assert saved.lang == "en" and not saved.email_enabled and not saved.push_enabled


# --- two processes, the same keys ---------------------------------------------------

_WRITER = """
import json, sys, time
from datetime import UTC, datetime, timedelta
from records.db import make_engine
from records.deliveries import DeliveryLog
from records.inbox import InboxEntry, InboxStore
from records.jti import RecordsReplayStore
from records.preferences import NoticePreferences, PreferenceStore
from records.push import PushSubscriptionStore
from records.sessions import SessionStore

url, me, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
engine = make_engine(url)
now = datetime(2026, 10, 1, tzinfo=UTC)
inbox, jti = InboxStore(engine), RecordsReplayStore(engine)
sessions, log = SessionStore(engine), DeliveryLog(engine)
push, prefs = PushSubscriptionStore(engine), PreferenceStore(engine)
while time.time() < start_at:  # both processes start writing at the same moment
    time.sleep(0.001)
out = {"inbox": [], "jti": [], "csrf": [], "claim": []}
for i in range(40):
    key = f"wf-{i}"
    out["inbox"].append(inbox.add(InboxEntry(
        key=f"{key}:submitted:0", recipient="applicant:r", application_id=key,
        event="submitted", title={"ja": "受付", "en": "Received"},
        body={"ja": "本文", "en": "Body"}, created_at=now)))
    out["jti"].append(jti.first_use("https://idp", f"jti-{i}", time.time() + 600, time.time()))
    out["csrf"].append(sessions.bind_csrf(f"s-{i}", f"{me}-{i}", time.time() + 600))
    out["claim"].append(log.claim(f"{key}:issued:email", application_id=key, channel="email",
                                  event="issued", now=now, lease=timedelta(hours=1)).state)
    push.add(f"res-{me}", f"https://push.example/{i}", "p", me)
    prefs.put(f"res-{i}", NoticePreferences(lang="ja" if me == "a" else "en"))
print(json.dumps(out))
"""


def test_two_processes_upserting_the_same_keys(db_url, engine):
    import time

    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    start_at = str(time.time() + 2.0)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, db_url, me, start_at],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env, cwd=REPO)
             for me in ("a", "b")]
    done = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in done]
    a, b = (json.loads(out) for out, _ in done)
    for i in range(40):
        # Exactly one process created each row or won each first use.
        assert sorted([a["inbox"][i], b["inbox"][i]]) == [False, True]
        assert sorted([a["jti"][i], b["jti"][i]]) == [False, True]
        assert sorted([a["claim"][i], b["claim"][i]]) == ["busy", "go"]
        # Both were told the one CSRF token the database kept.
        assert a["csrf"][i] == b["csrf"][i]
    assert rows(engine, inbox_entries) == 40
    assert rows(engine, notice_deliveries) == 40
    assert rows(engine, web_sessions) == 40
    subscriptions = PushSubscriptionStore(engine)
    assert len(subscriptions.for_recipient("res-a")) + len(
        subscriptions.for_recipient("res-b")) == 40
