"""No personal data in plain text where operators and logs can see it.

For a finished case of every procedure (罹災証明書, the SME telework grant, the 現況届),
the raw history (no codec), the search attributes, the workflow ids, our own logs and the
Temporal server's logs (at debug level) hold no name, address, phone, e-mail, 個人番号 or
bank account: not as UTF-8, not in base64.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client

from identity.devissuer import DEV_RESIDENT_ISSUER
from madoguchi.up import free_port
from tests.support.security import APPS, act, example
from tests.support.stack import binary, eventually
from workflows.client import data_converter
from workflows.search_attributes import dev_server_flags

REPORT = {
    "completed_on": "2027-02-20",
    "summary": "ノートPCを2台導入し、在宅勤務を週3日実施した。",
    "teleworkers": 2,
    "expenses": [
        {
            "category": "equipment",
            "description": "ノートPC 2台",
            "amount": 280000,
            "receipt_no": "R-2027-0012",
        }
    ],
}
PERSONAL_KEYS = {
    "family",
    "given",
    "family_kana",
    "given_kana",
    "name",
    "name_kana",
    "street",
    "building",
    "city",
    "phone",
    "email",
    "my_number",
    "individual_number",
    "account_number",
    "account_holder",
    "account_name",
    "representative",
    "birthdate",
}


@pytest.fixture
async def temporal_server(tmp_path: Path, test_keys) -> AsyncIterator[tuple[Client, Path]]:
    """A dev server of this module's own, logging at debug level to a file the test reads."""
    port, log = free_port(), tmp_path / "temporal-server.log"
    args = [binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
            "--port", str(port), "--db-filename", str(tmp_path / "temporal.db"),
            "--log-level", "debug", *dev_server_flags()]  # fmt: skip
    with open(log, "wb") as out:
        server = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                client = await Client.connect(
                    f"127.0.0.1:{port}", data_converter=data_converter(test_keys)
                )
                break
            except RuntimeError:
                assert server.poll() is None, log.read_text(errors="replace")[-2000:]
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the dev server did not answer in 30 s")
        yield client, log
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
async def stack(temporal_server, stack_on):
    """The module's stack runs on :func:`temporal_server`, whose logs the test scans."""
    async with stack_on(temporal_server[0]) as built:
        yield built


def personal_values(data: Any, key: str = "") -> set[str]:
    """The values of personal fields of a form (by key), at least 4 characters long."""
    found: set[str] = set()
    if isinstance(data, dict):
        for k, v in data.items():
            found |= personal_values(v, k)
    elif isinstance(data, list):
        for item in data:
            found |= personal_values(item, key)
    elif isinstance(data, str | int) and key in PERSONAL_KEYS and len(str(data)) >= 4:
        found.add(str(data))
    return found


def encodings(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"=")]


async def _finished(http, app_id, headers, count: int):
    async def done():
        body = (await http.get(f"{APPS}/{app_id}", headers=headers)).json()
        return body if len(body["documents"]) >= count and body["status"] != "issuing" else None

    return await eventually(done)


async def test_no_personal_data_in_history_search_attributes_ids_or_logs(
    world, catalog, caplog, temporal_server
):
    caplog.set_level(logging.DEBUG)
    stack, people, http = world.stack, world.people, world.stack.http
    secrets: set[str] = set()
    cases: dict[str, str] = {"disaster-certificate": world.application}
    secrets |= personal_values(example(catalog, "disaster-certificate", "valid-basic"))
    secrets |= personal_values(example(catalog, "disaster-certificate", "valid-tenant"))
    secrets |= {"安全 太郎", "代理 一郎", "代理 トメ", "ダイリ トメ"}

    # The SME grant, to its final amount.
    grant = world.business_application
    secrets |= personal_values(example(catalog, "sme-telework-grant", "valid-corporation"))
    await act(http, grant, people["reviewer"], "accept")
    await act(http, grant, people["approver"], "decide_grant")
    await _finished(http, grant, people["business"], 1)
    await act(http, grant, people["business"], "submit_report", data=REPORT)
    await act(http, grant, people["reviewer"], "confirm_amount")
    final = await _finished(http, grant, people["business"], 2)
    assert final["status"] == "completed"
    cases["sme-telework-grant"] = grant

    # The 現況届, filed in an open campaign and certified.
    now = datetime.now(UTC)
    opened = await http.post(
        "/api/campaigns",
        headers=people["staff"],
        json={
            "procedure": "childcare-status",
            "municipality": "131016",
            "period": "2026",
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + timedelta(days=30)).isoformat(),
            "targets": [{"issuer": DEV_RESIDENT_ISSUER, "subject": "sec-own"}],
        },
    )
    assert opened.status_code == 201, opened.text
    stack.started.append(opened.json()["campaign_id"])
    declaration = example(catalog, "childcare-status", "valid-basic")
    secrets |= personal_values(declaration)

    async def filed():
        reply = await http.post(
            APPS,
            headers=people["own"],
            json={"procedure": "childcare-status", "municipality": "131016", "data": declaration},
        )
        return reply if reply.status_code == 201 else None

    status_case = (await eventually(filed)).json()["id"]
    await act(http, status_case, people["reviewer"], "certify")
    await _finished(http, status_case, people["own"], 1)
    cases["childcare-status"] = status_case

    secrets = {s for s in secrets if len(s) >= 4}
    assert len(secrets) >= 10, secrets  # the check below has something to find
    client = stack.client
    leaks = []
    for procedure, case_id in cases.items():
        raw = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace, execution=WorkflowExecution(workflow_id=case_id)
            )
        )
        history = raw.SerializeToString()
        assert len(raw.history.events) > 5
        described = await client.get_workflow_handle(case_id).describe()
        attributes = repr(described.raw_description.workflow_execution_info.search_attributes)
        visible = (case_id + attributes).encode()
        for secret in secrets:
            for form in encodings(secret):
                if form in history:
                    leaks.append((procedure, "history", secret))
                if form in visible:
                    leaks.append((procedure, "search attributes / id", secret))
    # The campaign's own history names no one either (targets are keyed, not named).
    logs = caplog.text.encode()
    for secret in secrets:
        for form in encodings(secret):
            if form in logs:
                leaks.append(("*", "our logs", secret))
    server_log = temporal_server[1].read_bytes()
    assert world.application.encode() in server_log, "the server logged the cases at debug"
    for secret in secrets:
        for form in encodings(secret):
            if form in server_log:
                leaks.append(("*", "Temporal server log", secret))
    assert not leaks, leaks
    # The same data is in the case (decrypted by the key): the scan looked at real cases.
    view = (await http.get(f"{APPS}/{world.application}", headers=people["own"])).json()
    assert personal_values(view["data"]) & secrets
