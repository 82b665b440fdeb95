"""CaseService.act without the Query before the Update (issue #10), on the real dev server.

A service that has seen a case keeps its immutable facts and sends the Update alone; the
answers must stay exactly those of the query path (a fresh service, whose cache is empty).
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    StartWorkflowUpdateInput,
    WorkflowUpdateHandle,
)

from forms.catalog import Catalog
from forms.municipalities import load_municipalities
from identity.devissuer import DEV_RESIDENT_ISSUER, DEV_STAFF_ISSUER
from identity.principals import Caseworker, Resident
from services.cases import CaseService
from services.refusals import EngineBusy, Refused

PROCEDURE, TOKYO, YOKOHAMA = "disaster-certificate", "131016", "141003"
SURVEY = {"damage_ratio": 42.5, "surveyed_on": "2026-10-01"}


class Calls(Interceptor):
    """Counts the Queries and Updates a client sends."""

    def __init__(self) -> None:
        self.queries = 0
        self.updates = 0

    def reset(self) -> None:
        self.queries = self.updates = 0

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Counting(next, self)


class _Counting(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, calls: Calls) -> None:
        super().__init__(next)
        self._calls = calls

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        self._calls.queries += 1
        return await super().query_workflow(input)

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        self._calls.updates += 1
        return await super().start_workflow_update(input)


class Harness:
    """Services on one counting client, sharing the stack's task queue and one id secret."""

    def __init__(self, stack, catalog: Catalog) -> None:
        self.calls = Calls()
        self.client = Client(**{**stack.client.config(), "interceptors": [self.calls]})
        self._catalog, self._task_queue = catalog, stack.task_queue
        self._municipalities = load_municipalities()
        self._secret = os.urandom(32)
        self.started: list[str] = []

    def service(self, **options: Any) -> CaseService:
        """A new service: its cache is empty, so it acts through the query path."""
        return CaseService(self.client, catalog=self._catalog,
                           municipalities=self._municipalities, id_secret=self._secret,
                           task_queue=self._task_queue, **options)

    async def file(self, cases: CaseService, resident: Resident) -> str:
        examples = self._catalog.get(PROCEDURE).directory / "examples"
        data = json.loads((examples / "valid-basic.json").read_text(encoding="utf-8"))
        view = await cases.submit(resident, PROCEDURE, TOKYO, data)
        self.started.append(view.application_id)
        return view.application_id

    async def close(self) -> None:
        for case_id in self.started:
            await self.client.get_workflow_handle(case_id).terminate("test over")


@pytest.fixture
async def harness(stack, catalog):
    built = Harness(stack, catalog)
    yield built
    await built.close()


def resident() -> Resident:
    return Resident(issuer=DEV_RESIDENT_ISSUER, subject=f"r-{uuid.uuid4().hex[:8]}",
                    name="山田 太郎", assurance="urn:madoguchi:acr:dev-card",
                    assurance_level="high")


def caseworker(subject: str, roles: str = "reviewer,surveyor,approver",
               municipality: str = TOKYO) -> Caseworker:
    return Caseworker(issuer=DEV_STAFF_ISSUER, subject=subject,
                      municipalities=frozenset({municipality}),
                      roles=frozenset(roles.split(",")))


async def refusal(cases: CaseService, principal, case_id: str, action: str,
                  data: dict[str, Any] | None = None) -> tuple[str, int, Any]:
    with pytest.raises(Refused) as refused:
        await cases.act(principal, case_id, action, None, data)
    return refused.value.code, refused.value.kind, refused.value.details


async def test_a_known_case_is_acted_on_without_a_query(harness):
    cases, calls = harness.service(), harness.calls
    case_id = await harness.file(cases, resident())
    calls.reset()
    accepted = await cases.act(caseworker("cw-1"), case_id, "accept", None, None)
    surveyed = await cases.act(caseworker("cw-1"), case_id, "survey", None, SURVEY)
    approved = await cases.act(caseworker("cw-2", "approver"), case_id, "approve", None, None)
    stages = [d.view.stage for d in (accepted, surveyed, approved)]
    assert stages == ["survey", "approval", "issued"]
    assert (calls.queries, calls.updates) == (0, 3)

    # A service that has not seen the case asks it once, then knows it.
    other_id = await harness.file(cases, resident())
    fresh = harness.service()
    calls.reset()
    await fresh.act(caseworker("cw-1"), other_id, "accept", None, None)
    assert (calls.queries, calls.updates) == (1, 1)
    calls.reset()
    await fresh.act(caseworker("cw-1"), other_id, "survey", None, SURVEY)
    assert (calls.queries, calls.updates) == (0, 1)


async def test_facts_are_forgotten_when_evicted_or_expired(harness):
    now = [0.0]
    cases = harness.service(facts_cache_size=1, facts_ttl=60.0, clock=lambda: now[0])
    first = await harness.file(cases, resident())
    second = await harness.file(cases, resident())  # evicts the first
    harness.calls.reset()
    await cases.act(caseworker("cw-1"), first, "claim", None, None)
    assert harness.calls.queries == 1
    now[0] += 61.0  # the first case's facts (remembered from the update) have expired
    harness.calls.reset()
    await cases.act(caseworker("cw-1"), first, "accept", None, None)
    await cases.act(caseworker("cw-1"), second, "accept", None, None)
    assert harness.calls.queries == 2


async def test_known_facts_still_hide_a_case_from_others(harness):
    cases, calls = harness.service(), harness.calls
    case_id = await harness.file(cases, resident())
    strangers = [(caseworker("cw-y", municipality=YOKOHAMA), "accept"),
                 (resident(), "withdraw")]
    calls.reset()
    for stranger, action in strangers:
        assert await refusal(cases, stranger, case_id, action) == ("not_found", "not_found", None)
    assert (calls.queries, calls.updates) == (0, 0)  # answered from the facts alone
    for stranger, action in strangers:
        assert await refusal(harness.service(), stranger, case_id, action) == (
            "not_found", "not_found", None)


async def test_refusals_are_those_of_the_query_path(harness):
    cases, calls = harness.service(), harness.calls
    applicant = resident()
    case_id = await harness.file(cases, applicant)
    surveyor = caseworker("cw-1")
    # (who, action, data, expected code, queries the cached path needs)
    at_intake = [
        (surveyor, "approve", None, "not_available", 0),
        (surveyor, "survey", SURVEY, "not_available", 0),
        # Bad input for another stage's action: the stage refuses it, not the field check.
        (surveyor, "survey", {"damage_ratio": 120}, "not_available", 1),
        (applicant, "survey", SURVEY, "caseworker_only", 0),
        (caseworker("cw-3", "surveyor"), "accept", None, "role_required", 0),
        (applicant, "submit_correction", None, "no_correction_requested", 1),
    ]
    for who, action, data, code, queries in at_intake:
        calls.reset()
        known = await refusal(cases, who, case_id, action, data)
        assert known[0] == code, (action, known)
        assert calls.queries == queries, (action, calls.queries)
        assert known == await refusal(harness.service(), who, case_id, action, data)

    await cases.act(surveyor, case_id, "accept", None, None)
    bad = {"damage_ratio": 120, "surveyed_on": "2026-10-01"}
    known = await refusal(cases, surveyor, case_id, "survey", bad)
    assert known[:2] == ("invalid_data", "invalid")
    assert [e["path"] for e in known[2]] == ["/damage_ratio"]
    assert known == await refusal(harness.service(), surveyor, case_id, "survey", bad)
    missing = await refusal(cases, surveyor, case_id, "survey", None)
    assert missing[:2] == ("data_required", "invalid")
    assert missing == await refusal(harness.service(), surveyor, case_id, "survey", None)

    await cases.act(surveyor, case_id, "survey", None, SURVEY)
    calls.reset()
    own = await refusal(cases, surveyor, case_id, "approve")
    assert own[:2] == ("four_eyes", "forbidden") and calls.queries == 0
    assert own == await refusal(harness.service(), surveyor, case_id, "approve")


async def test_an_action_no_worker_takes_gives_up_as_busy(dev_env, catalog, monkeypatch):
    """With the case's workers down, an Update would wait for ever: the service gives up
    after ACTION_TIMEOUT_SECONDS and says the engine is busy (the portal answers 503)."""
    import services.cases as cases_module

    monkeypatch.setattr(cases_module, "ACTION_TIMEOUT_SECONDS", 2)
    queue = f"nobody-home-{uuid.uuid4().hex[:8]}"  # no worker polls this task queue
    cases = CaseService(dev_env.client, catalog=catalog, municipalities=load_municipalities(),
                        id_secret=os.urandom(32), task_queue=queue)
    examples = catalog.get(PROCEDURE).directory / "examples"
    data = json.loads((examples / "valid-basic.json").read_text(encoding="utf-8"))
    view = await cases.submit(resident(), PROCEDURE, TOKYO, data)
    try:
        with pytest.raises(EngineBusy):
            await cases.act(caseworker("cw-idle"), view.application_id, "accept", None, None)
    finally:
        await dev_env.client.get_workflow_handle(view.application_id).terminate("test over")
