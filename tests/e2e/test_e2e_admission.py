"""A burst of filings beyond what the portal admits: each one is either filed (201) or told
to come back (503 with Retry-After), and after the burst the workflow service holds exactly
one case per filing answered 201 (none lost, none twice); the refused ones file on retry."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from services.admission import Admission
from tests.support.stack import eventually

APPS = "/api/applications"
BURST = 24


def _body(catalog) -> dict[str, Any]:
    examples = catalog.get("disaster-certificate").directory / "examples"
    return {"procedure": "disaster-certificate", "municipality": "131016",
            "data": json.loads((examples / "valid-basic.json").read_text(encoding="utf-8"))}


async def _cases(stack) -> set[str]:
    query = f"TaskQueue = '{stack.task_queue}'"
    return {w.id async for w in stack.client.list_workflows(query)}


async def test_a_burst_gets_201_or_503_with_retry_after_and_nothing_is_lost(stack, catalog):
    # Two filings at once and no waiting for a slot: a burst of 24 must be refused in part.
    stack.cases.admission = Admission(2, wait=0.0, retry_after=3)
    body = _body(catalog)
    people = [stack.resident(f"burst-{n}", f"住民 {n}") for n in range(BURST)]

    async def file(n: int) -> tuple[int, Any]:
        reply = await stack.http.post(APPS, json=body, headers={
            **people[n], "Idempotency-Key": f"burst-{n}"})
        return n, reply

    replies = await asyncio.gather(*(file(n) for n in range(BURST)))
    filed = {n: r.json()["id"] for n, r in replies if r.status_code == 201}
    refused = [n for n, r in replies if r.status_code != 201]
    for _, reply in replies:
        assert reply.status_code in (201, 503), reply.text
        if reply.status_code == 503:
            assert reply.headers["retry-after"] == "3"
            assert reply.json()["error"] == "busy"
            assert "まだ受け付けていません" in reply.json()["message"]["ja"]
    assert filed and refused, "the burst should be partly admitted and partly refused"
    stack.started.extend(filed.values())

    async def exactly_the_filed() -> bool:
        return await _cases(stack) == set(filed.values())
    await eventually(exactly_the_filed)

    # Told to come back, they come back one by one (as Retry-After says) and are filed.
    for n in refused:
        _, reply = await file(n)
        assert reply.status_code == 201, reply.text
        filed[n] = reply.json()["id"]
    stack.started.extend(filed[n] for n in refused)
    assert len(set(filed.values())) == BURST

    async def one_case_each() -> bool:
        return await _cases(stack) == set(filed.values())
    await eventually(one_case_each)

