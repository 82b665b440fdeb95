"""Open statistics end to end: cases driven through the portal's API with known timings on
the time-skipping server (corrections, withdrawals, rejections, a typhoon's surge), the
milestones the workflows recorded, and the published CSV and JSON compared with a table
this test computes on its own (plain code, not the service's). Then, on the dev server
(the time-skipping one has no list queries), ``stats rebuild`` reproduces the CSV byte for
byte.
"""

from __future__ import annotations

import csv
import io
import json
import os
import statistics
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jpholiday
from temporalio.worker import Replayer

from records.statistics import MilestoneStore
from services.statistics import StatisticsService
from services.statistics_rebuild import rebuild
from workflows.procedure import ProcedureWorkflow

APPS = "/api/applications"
HISTORIES = Path(__file__).resolve().parents[1] / "replay" / "histories"
JST = timezone(timedelta(hours=9))
SURGE = "2026-typhoon-15"


def _data(catalog, event: str) -> dict[str, Any]:
    directory = catalog.get("disaster-certificate").directory / "examples"
    data = json.loads((directory / "valid-basic.json").read_text(encoding="utf-8"))
    return {**data, "disaster_event": event}


async def _act(stack, app_id: str, who: dict, action: str, **body: Any) -> dict:
    reply = await stack.http.post(f"{APPS}/{app_id}/actions", json={"action": action, **body},
                                  headers=who)
    assert reply.status_code == 200, (action, reply.text)
    return reply.json()


async def _file(stack, catalog, n: int, event: str,
                municipality: str = "131016") -> tuple[str, dict]:
    resident = stack.resident(f"stat-{n}", "統計 花子")
    created = await stack.http.post(APPS, json={
        "procedure": "disaster-certificate", "municipality": municipality,
        "data": _data(catalog, event)}, headers=resident)
    assert created.status_code == 201, created.text
    stack.started.append(created.json()["id"])
    return created.json()["id"], resident


#: The typhoon's surge, all filed on one day: per case (days to the claim, days the
#: correction was pending or None, days from then to the end, how it ends).
PLAN: list[tuple[int, int | None, int, str]] = [
    (0, None, 3, "approve"), (1, None, 5, "approve"), (0, 4, 2, "approve"),
    (2, None, 9, "approve"), (0, None, 1, "reject"), (1, 2, 6, "approve"),
    (0, None, 12, "approve"), (3, None, 2, "approve"), (0, None, 4, "withdraw"),
    (1, None, 4, "approve"), (0, 7, 3, "reject"), (0, None, 8, "approve"),
]
#: Another municipality's two cases of the same typhoon (withdrawn): cells under 10.
SMALL_CASES = 2


async def _drive(stack, env, catalog) -> list[dict[str, Any]]:
    """File the surge, then act on each case at its planned day (in time order); each
    case's own record of what happened when (from its view)."""
    worker, approver = stack.caseworker("cw-stat"), stack.caseworker("cw-approver")
    filed = []
    for n in range(len(PLAN)):
        filed.append(await _file(stack, catalog, n, SURGE))
    small = [await _file(stack, catalog, 50 + n, SURGE, "141003")
             for n in range(SMALL_CASES)]
    steps: list[tuple[float, int, str]] = []
    for n, (wait, correction, then, end) in enumerate(PLAN):
        if end == "withdraw":
            steps.append((wait + then, n, "withdraw"))
            continue
        steps.append((wait + 0.1, n, "claim"))
        day = wait + 0.1
        if correction is not None:
            steps.append((day + 0.01, n, "request_correction"))
            day += correction
            steps.append((day, n, "submit_correction"))
        steps.append((day + then, n, end))
    now = 0.0
    for day, n, action in sorted(steps):
        if day > now:
            await env.sleep(timedelta(days=day - now))
            now = day
        app_id, resident = filed[n]
        if action == "withdraw":
            await _act(stack, app_id, resident, "withdraw")
        elif action == "submit_correction":
            await _act(stack, app_id, resident, action, data=_data(catalog, SURGE))
        elif action == "request_correction":
            await _act(stack, app_id, worker, action, comment="写真を")
        elif action == "reject":
            await _act(stack, app_id, worker, "reject", comment="対象外")
        elif action == "approve":
            await _act(stack, app_id, worker, "accept")
            await _act(stack, app_id, worker, "survey",
                       data={"damage_ratio": 35, "surveyed_on": "2026-10-02"})
            await _act(stack, app_id, approver, "approve")
        else:
            await _act(stack, app_id, worker, action)
    for app_id, resident in small:
        await _act(stack, app_id, resident, "withdraw")
    await env.sleep(timedelta(hours=2))  # the certificates are issued
    cases = []
    for n, (app_id, _) in enumerate(filed):
        view = (await stack.http.get(f"{APPS}/{app_id}", headers=worker)).json()
        cases.append({"event": SURGE, "end": PLAN[n][3], "view": view})
    return cases


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _open(day: date) -> bool:
    return (day.weekday() < 5 and not jpholiday.is_holiday(day)
            and not ((day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3)))


def _expected(cases: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The table by this test's own reckoning, keyed (period kind, period)."""
    facts = []
    for case in cases:
        line = case["view"]["timeline"]
        filed = _t(line[0]["at"])
        decision = next((e for e in line if e["event"] in ("approve", "reject")), None)
        pauses = []
        for i, e in enumerate(line):
            if e["event"] == "correction_requested":
                answer = next(x for x in line[i:] if x["event"] == "correction_submitted")
                pauses.append((_t(e["at"]).astimezone(JST).date(),
                               _t(answer["at"]).astimezone(JST).date()))
        first = next((e for e in line if e["actor"] == "cw-stat"), None)
        facts.append({"case": case, "filed": filed, "decision": decision, "pauses": pauses,
                      "first": _t(first["at"]) if first else None})
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in facts:
        month = f["filed"].astimezone(JST).strftime("%Y-%m")
        for key in (("month", month), ("total", "all"), ("disaster_event", f["case"]["event"])):
            groups.setdefault(key, []).append(f)
    table = {}
    for key, group in groups.items():
        decided = [f for f in group if f["decision"]]
        ended = group  # every planned case ended (decided or withdrawn)
        days, open_days = [], []
        for f in decided:
            a = f["filed"].astimezone(JST).date()
            b = _t(f["decision"]["at"]).astimezone(JST).date()
            span = [a + timedelta(days=k) for k in range(1, (b - a).days + 1)]
            span = [d for d in span if not any(p < d <= q for p, q in f["pauses"])]
            days.append(len(span))
            open_days.append(sum(_open(d) for d in span))

        def p90(values: list[int]) -> float:
            ranked = sorted(values)
            pos = 0.9 * (len(ranked) - 1)
            low = int(pos)
            high = min(low + 1, len(ranked) - 1)
            return ranked[low] + (ranked[high] - ranked[low]) * (pos - low)

        firsts = sorted((f["first"] - f["filed"]).total_seconds() / 3600
                        for f in group if f["first"])
        row = {"filed": len(group), "decided": len(decided),
               "approved_share": sum(f["case"]["end"] == "approve" for f in ended) / len(ended),
               "rejected_share": sum(f["case"]["end"] == "reject" for f in ended) / len(ended),
               "withdrawn_share": sum(f["case"]["end"] == "withdraw" for f in ended)
               / len(ended),
               "correction_share": sum(bool(f["pauses"]) for f in group) / len(group),
               "online_share": 1.0,
               "median_hours_to_first_action": statistics.median(firsts) if firsts else None}
        if len(decided) >= 10:
            row |= {"median_days": statistics.median(days), "p90_days": p90(days),
                    "median_business_days": statistics.median(open_days),
                    "p90_business_days": p90(open_days),
                    "within_standard_share": sum(d <= 30 for d in days) / len(days)}
        table[key] = row
    return table


def _published(csv_bytes: bytes) -> dict[tuple[str, str], dict[str, str]]:
    assert csv_bytes.startswith("\ufeff".encode())
    rows = csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig")))
    return {(r["period_kind"], r["period"]): r for r in rows
            if r["procedure"] == "disaster-certificate" and r["municipality"] == "131016"}


async def test_the_published_table_matches_an_independent_count(time_stack, time_env, catalog):
    cases = await _drive(time_stack, time_env, catalog)
    service = StatisticsService(MilestoneStore(time_stack.register.engine))
    expected = _expected(cases)
    published = _published(service.csv())
    as_json = {(r["period_kind"], r["period"]): r for r in json.loads(service.json())["rows"]
               if r["municipality"] == "131016"}
    assert set(published) == set(expected)
    for key, want in expected.items():
        got, got_json = published[key], as_json[key]
        if want["filed"] < 10:
            assert got["suppressed"] == "true" and got["filed"] == "", key
            assert got_json["filed"] is None and got_json["median_days"] is None
            continue
        for name, value in want.items():
            if value is None:
                assert got[name] == "", (key, name)
            elif isinstance(value, int) and name in ("filed", "decided"):
                assert got[name] == str(value), (key, name)
                assert got_json[name] == value
            else:
                unit = 1 if "days" in name or "hours" in name else 3
                assert got[name] == f"{value:.{unit}f}", (key, name, got[name], value)
    # The surge is one published cell; the other municipality's 2 cases are not.
    assert published[("disaster_event", SURGE)]["suppressed"] == "false"
    small = [r for r in csv.DictReader(io.StringIO(service.csv().decode("utf-8-sig")))
             if r["municipality"] == "141003"]
    assert small and all(r["suppressed"] == "true" and r["filed"] == "" for r in small)
    for row in published.values():
        assert row["suppressed"] == "true" or int(row["filed"]) >= 10


async def test_stats_rebuild_reproduces_the_csv_byte_for_byte(stack, catalog):
    worker = stack.caseworker("cw-stat")
    first_case = ""
    for n in range(11):
        app_id, resident = await _file(stack, catalog, 100 + n, SURGE)
        first_case = first_case or app_id
        await _act(stack, app_id, worker, "claim")
        if n % 4 == 0:
            await _act(stack, app_id, worker, "request_correction", comment="写真を")
            await _act(stack, app_id, resident, "submit_correction",
                       data=_data(catalog, SURGE))
        if n % 3 == 0:
            await _act(stack, app_id, worker, "reject", comment="対象外")
        else:
            await _act(stack, app_id, worker, "accept")
    store = MilestoneStore(stack.register.engine)
    service = StatisticsService(store)

    async def recorded_all() -> bytes | None:
        # The workflows record after each update's reply: the last milestones land soon.
        total = _published(service.csv()).get(("total", "all"), {})
        first_actions = sum(m.kind == "first_action" for m in store.all())
        done = (total.get("filed"), total.get("decided"), first_actions) == ("11", "4", 11)
        return service.csv() if done else None

    from tests.support.stack import eventually
    recorded = await eventually(recorded_all)
    store.clear()
    assert _published(service.csv()) == {}

    query = f"WorkflowType = 'ProcedureWorkflow' AND TaskQueue = '{stack.task_queue}'"
    seen: list[int] = []

    async def listed() -> bool:
        n = 0
        async for _ in stack.client.list_workflows(query):
            n += 1
        return n == 11 or None  # type: ignore[return-value]

    await eventually(listed)
    count = await rebuild(stack.client, store, catalog, query=query, progress=seen.append)
    assert count == 11 and seen[-1] == 11
    assert service.csv() == recorded
    await _keep_history(stack, first_case)


async def _keep_history(stack, app_id: str) -> None:
    """The recording replays (statistics-v1 markers, local activities); with
    ``MADOGUCHI_RECORD_HISTORIES=1`` it goes to the replay corpus (tests/replay)."""
    history = await stack.client.get_workflow_handle(app_id).fetch_history()
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    assert any(e.marker_recorded_event_attributes.marker_name == "core_local_activity"
               for e in markers)
    await Replayer(workflows=[ProcedureWorkflow],
                   data_converter=stack.client.data_converter).replay_workflow(history)
    if os.environ.get("MADOGUCHI_RECORD_HISTORIES") == "1":
        version = (await stack.http.get(f"{APPS}/{app_id}", headers=stack.caseworker("cw-stat"))
                   ).json()["procedure_version"]
        target = HISTORIES / f"disaster-certificate-{version}-statistics.json"
        target.write_text(history.to_json(), encoding="utf-8")
