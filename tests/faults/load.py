"""Concurrent 罹災証明書 cases driven over HTTP like real clients, and the end-state checks.

Clients behave as a careful client should when the other side crashes: a filing is
retried with the same ``Idempotency-Key``; an action whose answer was lost is checked
against the case before it is sent again (an Update is not idempotent by itself).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from notices.delivery import opaque_id
from notices.email import EmailChannel, SmtpOptions
from tests.support.faults import FAULTS_VERSION, MUNICIPALITY, REPO, Installation
from workflows.procedure import document_number

APPS = "/api/applications"
EXAMPLE = json.loads(
    (
        REPO / "forms" / "catalog" / "disaster-certificate" / "examples" / "valid-basic.json"
    ).read_text(encoding="utf-8")
)
Outcome = Literal["issued", "rejected", "withdrawn"]
#: What each outcome leaves: (status, stage, documents, applicant notices in order).
EXPECTED: dict[str, tuple[str, str, int, list[str]]] = {
    # Documents: the 申請控え on filing, then the certificate if one is issued.
    "issued": ("awaiting_applicant", "issued", 2, ["submitted", "issued"]),
    "rejected": ("rejected", "rejected", 1, ["submitted", "rejected"]),
    "withdrawn": ("withdrawn", "withdrawn", 1, ["submitted", "withdrawn"]),
}
CHANNELS = ("inbox", "email", "webhook")
RETRYABLE = (httpx.TransportError, httpx.TimeoutException)


@dataclass
class Case:
    index: int
    sub: str
    outcome: Outcome
    idempotency_key: str
    app_id: str | None = None
    filing_attempts: int = 0
    action_retries: int = 0
    approved: bool = False


def plan(count: int, run: str) -> list[Case]:
    """``count`` cases: 1 in 10 withdrawn, 1 in 10 rejected, the rest issued."""
    outcomes: list[Outcome] = ["withdrawn", "rejected", *(["issued"] * 8)]
    return [
        Case(i, f"{run}-{i:04d}", outcomes[i % 10], f"{run}-idem-{i:04d}") for i in range(count)
    ]


@dataclass
class Driver:
    inst: Installation
    http: httpx.AsyncClient
    transient_answers: Counter[str] = field(default_factory=Counter)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        try:
            reply = await self.http.request(method, self.inst.url(path), **kwargs)
        except RETRYABLE as exc:
            self.transient_answers[type(exc).__name__] += 1
            return None
        if reply.status_code >= 500 or reply.status_code == 429:
            self.transient_answers[str(reply.status_code)] += 1
            if reply.status_code == 429:
                # A careful client waits as long as it is told before trying again.
                await asyncio.sleep(float(reply.headers.get("retry-after", "1")))
            return None
        return reply

    async def file(self, case: Case, *, deadline: float = 120) -> str:
        """File with retries under one Idempotency-Key; returns the application id."""
        resident = self.inst.resident(case.sub)
        prefs = {
            "lang": "ja",
            "email": f"{case.sub}@example.jp",
            "email_enabled": True,
            "push_enabled": False,
        }
        await self._until_ok(
            "PUT", "/api/preferences", json=prefs, headers=resident, deadline=deadline
        )
        body = {"procedure": "disaster-certificate", "municipality": MUNICIPALITY, "data": EXAMPLE}
        headers = {**resident, "Idempotency-Key": case.idempotency_key}
        end = time.monotonic() + deadline
        while True:
            case.filing_attempts += 1
            reply = await self._send("POST", APPS, json=body, headers=headers, timeout=30)
            if reply is not None:
                assert reply.status_code == 201, (case.sub, reply.status_code, reply.text)
                assert reply.json()["procedure_version"] == FAULTS_VERSION
                if case.app_id is not None:
                    assert reply.json()["id"] == case.app_id
                case.app_id = reply.json()["id"]
                return case.app_id
            assert time.monotonic() < end, f"filing {case.sub} never answered"
            await asyncio.sleep(0.5)

    async def _until_ok(
        self, method: str, path: str, *, deadline: float, **kwargs: Any
    ) -> httpx.Response:
        end = time.monotonic() + deadline
        while True:
            reply = await self._send(method, path, timeout=30, **kwargs)
            if reply is not None:
                assert reply.status_code < 300, (path, reply.status_code, reply.text)
                return reply
            assert time.monotonic() < end, f"{method} {path} never answered"
            await asyncio.sleep(0.5)

    async def view(self, case: Case, headers: dict[str, str]) -> dict[str, Any]:
        reply = await self._until_ok("GET", f"{APPS}/{case.app_id}", headers=headers, deadline=120)
        return reply.json()

    async def act(
        self, case: Case, headers: dict[str, str], action: str, done: tuple[str, ...], **body: Any
    ) -> None:
        """Take ``action``; ``done`` are the stages that show it took effect, so a lost
        answer is not mistaken for a refusal and the action is never sent twice."""
        while True:
            reply = await self._send(
                "POST",
                f"{APPS}/{case.app_id}/actions",
                json={"action": action, **body},
                headers=headers,
                timeout=60,
            )
            if reply is not None and reply.status_code == 200:
                return
            current = await self.view(case, headers)
            if current["stage"] in done:
                return  # it took effect; the answer was lost
            assert reply is None, (case.sub, action, reply.status_code, reply.text)
            case.action_retries += 1
            await asyncio.sleep(0.5)

    async def run_case(self, case: Case, *, pace: float = 0.0) -> None:
        await asyncio.sleep(pace)
        await self.file(case)
        resident = self.inst.resident(case.sub)
        reviewer = self.inst.caseworker("cw-1", "reviewer,surveyor")
        approver = self.inst.caseworker("cw-2", "approver")
        if case.outcome == "withdrawn":
            await self.act(case, resident, "withdraw", ("withdrawn",))
            return
        if case.outcome == "rejected":
            await self.act(
                case, reviewer, "reject", ("rejected",), comment="対象の災害の区域外です。"
            )
            return
        await self.act(case, reviewer, "accept", ("survey", "approval", "issued"))
        ratio = random.Random(case.index).choice([5, 15, 25, 35, 45, 55])
        await self.act(
            case,
            reviewer,
            "survey",
            ("approval", "issued"),
            data={"damage_ratio": ratio, "surveyed_on": "2026-10-01"},
        )
        await self.act(case, approver, "approve", ("issued",))
        case.approved = True


def certificates(inst: Installation, application_id: str) -> int:
    """How many certificates of a case are in the register (its 申請控え not counted)."""
    return sum(
        d.document_type == "certificate" for d in inst.register.for_application(application_id)
    )


# ---- the end state ----------------------------------------------------------------------


@dataclass
class Tally:
    """What the checks found; every number must be as the test asserts."""

    cases: int = 0
    reached_end: int = 0
    lost: int = 0
    documents: int = 0
    document_mismatches: int = 0
    inbox_entries: int = 0
    inbox_duplicates: int = 0
    emails: int = 0
    email_duplicates: int = 0
    webhooks_stored: int = 0
    webhook_reposts: int = 0
    webhook_duplicates_stored: int = 0
    missing: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"cases={self.cases} reached_end={self.reached_end} lost={self.lost} "
            f"documents={self.documents} document_mismatches={self.document_mismatches} "
            f"inbox={self.inbox_entries} inbox_dup={self.inbox_duplicates} "
            f"emails={self.emails} email_dup={self.email_duplicates} "
            f"webhooks={self.webhooks_stored} webhook_reposts={self.webhook_reposts}"
        )


def _email_ids(inst: Installation) -> EmailChannel:
    return EmailChannel(
        SmtpOptions(host="127.0.0.1", sender=inst.env["MADOGUCHI_SMTP_FROM"]),
        public_url=inst.url(""),
    )


async def settled(driver: Driver, cases: list[Case]) -> tuple[bool, str]:
    """True once every case is at its end and every notice is delivered on every channel."""
    inst = driver.inst
    viewer = inst.caseworker("cw-audit", "reviewer")
    waiting: Counter[str] = Counter()
    for case in cases:
        status, stage, docs, events = EXPECTED[case.outcome]
        try:
            reply = await driver.http.get(
                inst.url(f"{APPS}/{case.app_id}"), headers=viewer, timeout=10
            )
        except RETRYABLE:
            return False, "web not answering"
        if reply.status_code != 200:
            return False, f"view {reply.status_code}"
        body = reply.json()
        if (body["status"], body["stage"], len(body["documents"])) != (status, stage, docs):
            waiting[f"case:{body['status']}"] += 1
            continue
        records = inst.deliveries.for_application(case.app_id)
        delivered = [r for r in records if r.status == "delivered"]
        if len(delivered) < len(events) * len(CHANNELS):
            waiting["deliveries"] += 1
    return not waiting, ", ".join(f"{k}={v}" for k, v in sorted(waiting.items()))


async def wait_settled(driver: Driver, cases: list[Case], *, timeout: float) -> float:
    start = time.monotonic()
    last = ""
    while time.monotonic() - start < timeout:
        ok, last = await settled(driver, cases)
        if ok:
            return time.monotonic() - start
        await asyncio.sleep(1.0)
    raise AssertionError(f"not settled within {timeout:.0f} s: {last}")


def check_end_state(
    inst: Installation, cases: list[Case], views: dict[str, dict], *, exclusive: bool = True
) -> Tally:
    """Every case at its correct end; each notice, e-mail, webhook and document exactly once.

    ``exclusive``: ``cases`` are all the installation's cases, so the SMTP server, the
    webhook receiver and the blob store must hold exactly their messages and documents."""
    tally = Tally(cases=len(cases))
    emails = _email_ids(inst)
    expected_message_ids: set[str] = set()
    expected_webhooks: set[str] = set()
    issued_blobs: set[str] = set()
    for case in cases:
        assert case.app_id is not None, f"{case.sub} was never filed"
        view = views.get(case.app_id)
        status, stage, docs, events = EXPECTED[case.outcome]
        if view is None:
            tally.lost += 1
            tally.missing.append(case.app_id)
            continue
        if (view["status"], view["stage"], len(view["documents"])) == (status, stage, docs):
            tally.reached_end += 1
        else:
            tally.missing.append(f"{case.app_id}:{view['status']}/{view['stage']}")
        inbox = inst.inbox.for_application(case.app_id)
        tally.inbox_entries += len(inbox)
        counted = Counter(entry.event for entry in inbox)
        tally.inbox_duplicates += sum(n - 1 for n in counted.values() if n > 1)
        assert sorted(counted) == sorted(events), (case.app_id, counted)
        records = inst.deliveries.for_application(case.app_id)
        by_channel = Counter(r.channel for r in records)
        assert by_channel == Counter({c: len(events) for c in CHANNELS}), (case.app_id, by_channel)
        assert all(r.status == "delivered" for r in records), (case.app_id, records)
        for record in records:
            if record.channel == "email":
                expected_message_ids.add(emails.message_id(record.key))
            elif record.channel == "webhook":
                expected_webhooks.add(opaque_id(record.key))
        hooks = inst.webhook.for_application(case.app_id)
        assert sorted(h["event"] for h in hooks) == sorted(events), (case.app_id, hooks)
        registered = inst.register.for_application(case.app_id)
        assert len(registered) == docs, (case.app_id, registered)
        for number, doc in enumerate(registered):
            tally.documents += 1
            issued_blobs.add(doc.blob_key)
            same = (
                doc.id == document_number(case.app_id, doc.document_type, number)
                and doc.id == view["documents"][number]["id"]
                and doc.sha256 == view["documents"][number]["sha256"]
                and doc.sha256 == inst.blob_sha256(doc.blob_key)
            )
            tally.document_mismatches += not same
    with inst.smtp._lock:
        received = {
            m: n for m, n in inst.smtp.messages.items() if exclusive or m in expected_message_ids
        }
    with inst.webhook._lock:
        posts = {d: n for d, n in inst.webhook.posts.items() if exclusive or d in expected_webhooks}
    tally.emails = sum(received.values())
    tally.email_duplicates = sum(n - 1 for n in received.values())
    # A case that never reached its end (tally.missing) has e-mails outside the expected
    # set: name those cases, the e-mails are only the symptom.
    assert set(received) == expected_message_ids, (
        f"e-mails differ from the delivery log: {len(set(received) - expected_message_ids)} "
        f"received and not logged, {len(expected_message_ids - set(received))} logged and not "
        f"received; cases not at their end: {tally.missing}")
    tally.webhooks_stored = len(posts)
    tally.webhook_reposts = sum(n - 1 for n in posts.values())
    assert set(posts) == expected_webhooks, "webhook deliveries differ from the delivery log"
    assert inst.webhook.bad_signatures == 0
    if exclusive:
        on_disk = {
            str(p.relative_to(inst.data / "blobs"))
            for p in (inst.data / "blobs" / "documents").glob("*.pdf")
        }
        assert on_disk == issued_blobs, f"blobs not in the register: {on_disk - issued_blobs}"
    return tally


async def final_views(driver: Driver, cases: list[Case]) -> dict[str, dict]:
    viewer = driver.inst.caseworker("cw-audit", "reviewer")
    views: dict[str, dict] = {}
    for case in cases:
        reply = await driver.http.get(
            driver.inst.url(f"{APPS}/{case.app_id}"), headers=viewer, timeout=30
        )
        if reply.status_code == 200:
            views[case.app_id] = reply.json()
    return views


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
