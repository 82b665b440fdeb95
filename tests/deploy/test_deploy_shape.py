"""The deployed shape, for real, on this machine (issue #22; tests/support/deployed.py):
PostgreSQL read models, Redis rate limits, two web processes behind a TLS proxy, a worker
process per task queue (two for documents), blobs in S3, the Temporal dev server.

A resident files through the proxy, caseworkers act through both web processes, the
certificate is issued, downloaded and verified; the rate limits hold across the two web
processes and the forwarded client address is believed from the proxy only; then web,
documents worker and PostgreSQL crash or restart under load with 0 cases lost and 0
documents or notices duplicated.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from records.db import inbox_entries, issued_documents, make_engine
from records.numbering import document_numbers
from tests.support.deployed import Shape, http_retrying, running_shape
from tests.support.processes import new_namespace, wait_for
from tests.support.stack import documents_of

pytestmark = pytest.mark.slow

ACTIONS = "/api/applications/{application_id}/actions"
SURVEY = {"data": {"damage_ratio": 45, "surveyed_on": "2026-10-03"}}


@pytest.fixture(scope="module")
async def shape(dev_env, postgres, redis_server, s3_server,
                tmp_path_factory) -> AsyncIterator[Shape]:
    namespace = await new_namespace(dev_env)
    started = time.monotonic()
    with running_shape(temporal_address=dev_env.client.service_client.config.target_host,
                       namespace=namespace, postgres=postgres, redis_url=redis_server.url,
                       s3_server=s3_server, root=tmp_path_factory.mktemp("shape")) as built:
        print(f"deployed shape ready in {time.monotonic() - started:.1f} s")
        yield built


def _file(shape: Shape, http: httpx.Client, resident: dict) -> str:
    reply = http_retrying(http, "POST", "/api/applications", json=shape.filing(),
                          headers=resident)
    if reply.status_code == 409:  # our earlier try went through before the crash
        return reply.json()["details"]["existing_application"]
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def _act(http: httpx.Client, app_id: str, who: dict, action: str, **body) -> None:
    reply = http_retrying(http, "POST", f"/api/applications/{app_id}/actions",
                          json={"action": action, **body}, headers=who)
    if reply.status_code == 409 and reply.json().get("error") in ("invalid_state",
                                                                  "already_done"):
        return  # the earlier try was done before its answer got lost
    assert reply.status_code == 200, (action, reply.text)


def _certificate(shape: Shape, http: httpx.Client, app_id: str, resident: dict,
                 timeout: float = 60) -> dict:
    def issued():
        reply = http_retrying(http, "GET", f"/api/applications/{app_id}", headers=resident)
        return reply.status_code == 200 and documents_of(reply.json(), "certificate")

    (doc,) = wait_for(issued, [], timeout, f"{app_id}: certificate issued")
    return doc


def test_a_resident_files_caseworkers_act_through_both_webs_and_the_certificate_verifies(
        shape: Shape):
    resident = shape.resident("demo-9")
    surveyor = shape.caseworker("cw-1", "reviewer", "surveyor")
    approver = shape.caseworker("cw-2", "approver")
    with shape.proxy.client() as http:
        app_id = _file(shape, http, resident)
        shape.filed.append(app_id)
        # Nothing in between: round robin sends the three actions to both processes.
        _act(http, app_id, surveyor, "accept")
        _act(http, app_id, surveyor, "survey", **SURVEY)
        _act(http, app_id, approver, "approve")
        doc = _certificate(shape, http, app_id, resident)
        pdf = http.get(doc["url"], headers=resident)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        verdict = http.post("/api/verify", files={"file": ("c.pdf", pdf.content,
                                                           "application/pdf")})
    served = [shape.served(web.name, ACTIONS) for web in shape.webs]
    assert sum(served) == 3 and all(n >= 1 for n in served), served
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["status"] == "valid" and verdict.json()["same_file_as_issued"]
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True,
                          check=True).stdout.decode()
    assert "罹災証明書" in text and "大規模半壊" in text
    # The read models are in PostgreSQL, the PDFs in S3, nothing on the local disk.
    engine = make_engine(shape.database_url)
    with engine.connect() as conn:
        kinds = conn.execute(select(issued_documents.c.document_type).where(
            issued_documents.c.application_id == app_id)).scalars().all()
    engine.dispose()
    assert sorted(kinds) == ["application-copy", "certificate"]
    assert not any((shape.data / "blobs").rglob("*.pdf"))


def test_rate_limits_hold_across_both_webs_and_only_the_proxy_names_the_client(
        shape: Shape):
    # Sign-in is limited per client address (10 a minute); each request alternates
    # between the two web processes, which count in the one Redis.
    with shape.proxy.client("127.0.0.5") as flood:
        answers = [flood.post("/login", data={}).status_code for _ in range(12)]
    assert 429 not in answers[:10] and answers[10:] == [429, 429], answers
    # The limiter answers before routing: its refusals have no route template.
    served = [shape.served(web.name, "unmatched", status="429") for web in shape.webs]
    assert served == [1.0, 1.0], served  # both processes refused: one shared count
    # Another client behind the same proxy has its own count: the web processes believe
    # the proxy's X-Forwarded-For (else every client would be the proxy, 127.0.0.1).
    with shape.proxy.client("127.0.0.6") as other:
        assert other.post("/login", data={}).status_code != 429
        page = other.get("/login")
    # ... and its X-Forwarded-Proto: the page was served over https, cookies are Secure.
    assert "__Host-madoguchi_csrf=" in page.headers.get("set-cookie", "")
    # Straight to a web process, a made-up X-Forwarded-For is not believed: the peer
    # (the flooding address) is counted, and it is still over its limit.
    port = shape.webs[1].args[-1]
    direct = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.5"),
                          base_url=f"http://127.0.0.1:{port}", timeout=30)
    with direct:
        spoofed = direct.post("/login", data={}, headers={"X-Forwarded-For": "203.0.113.9",
                                                          "X-Forwarded-Proto": "https"})
        plain = direct.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert spoofed.status_code == 429
    assert "__Host-" not in plain.headers.get("set-cookie", "")


CRASH_CASES = 8


def test_crashes_of_a_web_a_documents_worker_and_postgresql_lose_and_duplicate_nothing(
        shape: Shape):
    """Cases are filed and decided through the proxy while web-1 is killed (and started
    again), documents-1 is killed while certificates are being rendered (and started
    again), and PostgreSQL is restarted; every case ends with one certificate."""
    surveyor = shape.caseworker("cw-1", "reviewer", "surveyor")
    approver = shape.caseworker("cw-2", "approver")
    residents = {i: shape.resident(f"crash-{i}", f"試験 {i}") for i in range(CRASH_CASES)}
    ids: dict[int, str] = {}
    faults: Counter[str] = Counter()
    with shape.proxy.client("127.0.0.7") as http:
        for i in range(CRASH_CASES):
            if i == CRASH_CASES // 2:
                shape.webs[0].kill()  # between requests: the proxy must route around it
                faults["web-1 killed"] += 1
            ids[i] = _file(shape, http, residents[i])
            _act(http, ids[i], surveyor, "accept")
            _act(http, ids[i], surveyor, "survey", **SURVEY)
        shape.restart(shape.webs[0])
        # Approve them all at once, then kill a documents worker while it renders.
        approvals = [threading.Thread(target=_act, args=(http, ids[i], approver, "approve"))
                     for i in ids]
        for thread in approvals:
            thread.start()
        documents = shape.workers["documents-1"]
        wait_for(lambda: shape.activities_running("documents-1") >= 1, [], 60,
                 "documents-1 rendering a certificate")
        documents.kill()
        faults["documents-1 killed"] += 1
        for thread in approvals:
            thread.join()
        shape.postgres.restart()  # fast shutdown: sessions cut, activities retry
        faults["postgresql restarted"] += 1
        shape.restart(documents)
        # A killed activity is retried when its start-to-close timeout ends (60 s for
        # documents).
        for i, app_id in ids.items():
            _certificate(shape, http, app_id, residents[i], timeout=150)
    print(dict(faults))

    everything = [*shape.filed, *ids.values()]
    engine = make_engine(shape.database_url)
    with engine.connect() as conn:
        issued = Counter(conn.execute(select(issued_documents.c.application_id,
                                             issued_documents.c.document_type)).all())
        numbers = conn.execute(select(document_numbers.c.number)).scalars().all()
        notices = conn.execute(select(inbox_entries.c.application_id, inbox_entries.c.event,
                                      inbox_entries.c.recipient)).all()
        cases_with_notices = conn.execute(select(func.count(func.distinct(
            inbox_entries.c.application_id)))).scalar_one()
    engine.dispose()
    # 0 lost: every case has its two documents; 0 duplicated: each exactly once.
    assert {app for app, _ in issued} == set(everything)
    assert all(count == 1 for count in issued.values()), issued
    assert len(issued) == 2 * len(everything)
    assert len(numbers) == len(set(numbers))
    assert all(count == 1 for count in Counter(notices).values())
    assert cases_with_notices == len(everything)
    stored = shape.blobs()
    assert len(stored) == 2 * len(everything), "a 申請控え and a certificate per case"
