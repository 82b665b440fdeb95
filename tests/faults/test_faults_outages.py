"""The web server crashing mid-submission, and the dependencies a case needs going away.

- ``madoguchi web`` is killed with SIGKILL (twice) while many filings are in flight; each
  client retries with its ``Idempotency-Key`` and must end with exactly one application,
  the one its first attempt may already have created.
- The blob store becomes unwritable, the SMTP relay and the webhook receiver go down:
  cases wait, the activities retry with backoff, nothing is lost or sent twice; when the
  dependencies return, every case goes on to its end.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from madoguchi.datadir import DataDir
from tests.faults.conftest import FAULT_CASES, MUNICIPALITY, Installation, record_numbers
from tests.faults.load import (
    APPS,
    EXAMPLE,
    Driver,
    check_end_state,
    final_views,
    plan,
    wait_settled,
)
from workflows.client import data_converter

pytestmark = pytest.mark.slow


async def test_web_killed_mid_submission_retries_get_the_same_application(
    shared_installation: Installation,
):
    inst = shared_installation
    count = FAULT_CASES or 40
    cases = plan(count, "web")
    answered: dict[str, tuple[str, int, datetime]] = {}  # sub -> (id, attempts, submitted)
    kills: list[float] = []
    transient: Counter[str] = Counter()
    body = {"procedure": "disaster-certificate", "municipality": MUNICIPALITY, "data": EXAMPLE}

    async def submit(http: httpx.AsyncClient, sub: str, key: str) -> None:
        headers = {**inst.resident(sub), "Idempotency-Key": key}
        attempts = 0
        while True:
            attempts += 1
            try:
                reply = await http.post(inst.url(APPS), json=body, headers=headers, timeout=30)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                transient[type(exc).__name__] += 1
                await asyncio.sleep(0.3)
                continue
            if reply.status_code >= 500:
                transient[str(reply.status_code)] += 1
                await asyncio.sleep(0.3)
                continue
            assert reply.status_code == 201, (sub, reply.status_code, reply.text)
            view = reply.json()
            answered[sub] = (view["id"], attempts, datetime.fromisoformat(view["submitted_at"]))
            return

    async def crash_web_twice() -> None:
        for threshold in (count // 5, count // 2):
            while len(answered) < threshold:
                await asyncio.sleep(0.02)
            inst.web.kill()
            kills.append(time.time())
            await asyncio.sleep(0.5)
            inst.web.start(wait=False)

    started = time.monotonic()
    async with httpx.AsyncClient() as http:
        await asyncio.gather(
            *(submit(http, c.sub, c.idempotency_key) for c in cases), crash_web_twice()
        )
        inst.web.wait_ready()

        async def one_each() -> dict[str, list[str]]:
            found = {}
            for case in cases:
                reply = await http.get(inst.url(APPS), headers=inst.resident(case.sub), timeout=30)
                assert reply.status_code == 200, reply.text
                found[case.sub] = [row["id"] for row in reply.json()]
            return found

        # The resident's list is a visibility query: eventually consistent.
        deadline = time.monotonic() + 30
        while True:
            listed = await one_each()
            if all(len(ids) >= 1 for ids in listed.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    elapsed = time.monotonic() - started

    # A retry whose application was created before a crash: the first attempt's reply
    # was lost, and the Idempotency-Key gave the client that same application.
    recovered = sum(
        1
        for _, attempts, submitted in answered.values()
        if attempts > 1 and any(submitted.timestamp() < k for k in kills)
    )
    record_numbers(
        "web-restart",
        {
            "submissions": count,
            "web_kills": len(kills),
            "applications_per_client": dict(Counter(len(ids) for ids in listed.values())),
            "retries": sum(a - 1 for _, a, _ in answered.values()),
            "lost_replies_answered_with_the_first_application": recovered,
            "transient_answers": dict(transient),
            "duplicates": sum(len(ids) - 1 for ids in listed.values()),
            "seconds": round(elapsed, 1),
        },
    )
    assert len(kills) == 2
    for case in cases:
        assert listed[case.sub] == [answered[case.sub][0]], (case.sub, listed[case.sub])
    assert sum(a > 1 for _, a, _ in answered.values()) >= 1, "no filing was in flight"


def _unwritable(path: Path, on: bool) -> None:
    """As root, permissions do not stop writes: make the folder immutable instead."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True)
    else:
        path.chmod(0o555 if on else 0o755)


async def _pending(client: Client, app_id: str) -> list[tuple[str, int, str]]:
    """(activity, attempt, last failure) of the case's activities waiting to run again."""
    description = await client.get_workflow_handle(app_id).describe()
    found = []
    for pending in description.raw_description.pending_activities:
        failure = ""
        if pending.HasField("last_failure"):
            error = await client.data_converter.decode_failure(pending.last_failure)
            failure = f"{type(error).__name__}: {error}"
        found.append((pending.activity_type.name, pending.attempt, failure))
    return found


async def test_blob_store_smtp_and_webhook_down_cases_wait_and_then_continue(
    shared_installation: Installation,
):
    inst = shared_installation
    count = FAULT_CASES or 8
    cases = plan(count, "out")
    for case in cases:
        case.outcome = "issued"
    documents = inst.data / "blobs" / "documents"
    documents.mkdir(parents=True, exist_ok=True)
    client = await Client.connect(
        f"127.0.0.1:{inst.temporal_port}",
        data_converter=data_converter(DataDir(inst.data).payload_keys()),
    )
    started = time.monotonic()
    _unwritable(documents, True)
    inst.smtp.stop()
    inst.webhook.stop()
    try:
        async with httpx.AsyncClient() as http:
            driver = Driver(inst, http)
            await asyncio.gather(*(driver.run_case(c) for c in cases))
            await asyncio.sleep(8)  # the outage goes on: attempts back off 1, 2, 4 s, ...
            pending = {c.app_id: await _pending(client, c.app_id) for c in cases}
            records = [r for c in cases for r in inst.deliveries.for_application(c.app_id)]
            viewer = inst.caseworker("cw-audit", "reviewer")
            seen = (await http.get(inst.url(f"{APPS}/{cases[0].app_id}"), headers=viewer)).json()
            waiting = sum(1 for c in cases if inst.register.for_application(c.app_id) == [])
            outage = time.monotonic() - started
            _unwritable(documents, False)
            inst.smtp.start()
            inst.webhook.start()
            restored = time.monotonic()
            settle = await wait_settled(driver, cases, timeout=90)
            tally = check_end_state(inst, cases, await final_views(driver, cases), exclusive=False)
    finally:
        if documents.exists():
            _unwritable(documents, False)
        if inst.smtp._controller is None:
            inst.smtp.start()
        if inst.webhook._server is None:
            inst.webhook.start()

    issue_attempts = [a for p in pending.values() for name, a, _ in p if name == "issue_document"]
    notice_attempts = [a for p in pending.values() for name, a, _ in p if name == "deliver_notice"]
    failures = sorted({f.split(":")[0] for p in pending.values() for _, _, f in p if f})
    errors = Counter(r.error for r in records if r.status == "temporary-failure")
    record_numbers(
        "outages",
        {
            "cases": count,
            "outage_seconds": round(outage, 1),
            "documents_waiting_during_outage": waiting,
            "issue_document_attempts_during_outage": sorted(issue_attempts),
            "deliver_notice_attempts_during_outage": sorted(notice_attempts),
            "failures_seen_by_temporal": failures,
            "delivery_log_errors": dict(errors),
            "caseworker_view_status": [seen["status"], seen["stage"]],
            "caseworker_view_fields": sorted(seen),
            "seconds_to_continue_after_restore": round(time.monotonic() - restored, 1),
            "seconds_to_settle": round(settle, 1),
            "lost": tally.lost,
            "email_duplicates": tally.email_duplicates,
            "webhook_reposts": tally.webhook_reposts,
            "document_mismatches": tally.document_mismatches,
        },
    )
    assert waiting == count, "no document can be issued while the blob store is unwritable"
    # Backoff, not a hot loop: after ~8 s of outage, 1 + 2 + 4 s of waits allow 3-4 tries.
    assert issue_attempts and all(2 <= a <= 6 for a in issue_attempts), issue_attempts
    assert notice_attempts and all(2 <= a <= 6 for a in notice_attempts), notice_attempts
    assert {"smtp-unavailable", "webhook-unavailable"} <= set(errors), errors
    assert seen["status"] == "issuing"
    assert tally.lost == 0 and tally.reached_end == count, tally.missing
    assert tally.email_duplicates == 0 and tally.document_mismatches == 0


@pytest.mark.xfail(
    strict=True,
    reason="the case view does not say what a case is waiting for: CaseService.details "
    "should add the pending activities' last failure for caseworkers (see docs/reliability.md)",
)
async def test_caseworker_view_says_what_a_case_is_waiting_for(
    shared_installation: Installation,
):
    inst = shared_installation
    (case,) = plan(1, "why")
    inst.webhook.stop()
    try:
        async with httpx.AsyncClient() as http:
            driver = Driver(inst, http)
            await driver.file(case)
            viewer = inst.caseworker("cw-audit", "reviewer")
            deadline = time.monotonic() + 20
            while not any(
                r.status == "temporary-failure"
                for r in inst.deliveries.for_application(case.app_id)
            ):
                assert time.monotonic() < deadline, "the webhook delivery never failed"
                await asyncio.sleep(0.3)
            seen = (await http.get(inst.url(f"{APPS}/{case.app_id}"), headers=viewer)).json()
    finally:
        inst.webhook.start()
    waiting = seen.get("waiting") or []
    assert any(
        w["activity"] == "deliver_notice" and w["attempt"] >= 1 and "webhook" in w["error"]
        for w in waiting
    ), sorted(seen)
