"""The annual 現況届 campaign on the time-skipping server: open, remind non-filers, close."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from identity.devissuer import DEV_RESIDENT_ISSUER

APPS = "/api/applications"


def _declaration(catalog) -> dict[str, Any]:
    examples = catalog.get("childcare-status").directory / "examples"
    return json.loads((examples / "valid-basic.json").read_text(encoding="utf-8"))


async def _inbox_events(stack, headers: dict[str, str]) -> list[str]:
    return [n["event"] for n in (await stack.http.get("/api/inbox", headers=headers)).json()]


async def test_campaign_opens_reminds_only_non_filers_and_closes(
        time_env: WorkflowEnvironment, time_stack, catalog):
    http = time_stack.http
    admin = time_stack.caseworker("cw-admin", roles="admin,reviewer")
    filer = time_stack.resident("parent-1", "高橋 美咲")
    late = time_stack.resident("parent-2", "伊藤 健")
    now = await time_env.get_current_time()
    campaign = {
        "procedure": "childcare-status", "municipality": "131016", "period": "2026",
        "opens_at": (now + timedelta(days=1)).isoformat(),
        "closes_at": (now + timedelta(days=31)).isoformat(),
        "targets": [{"issuer": DEV_RESIDENT_ISSUER, "subject": s}
                    for s in ("parent-1", "parent-2")],
    }
    refused = await http.post("/api/campaigns", json=campaign,
                              headers=time_stack.caseworker("cw-1", roles="reviewer"))
    assert refused.status_code == 403
    opened = await http.post("/api/campaigns", json=campaign, headers=admin)
    assert opened.status_code == 201, opened.text
    campaign_id = opened.json()["campaign_id"]
    time_stack.started.append(campaign_id)
    assert opened.json()["status"] == "scheduled" and opened.json()["targets"] == 2
    again = await http.post("/api/campaigns", json=campaign, headers=admin)
    assert again.status_code == 409

    filing = {"procedure": "childcare-status", "municipality": "131016",
              "data": _declaration(catalog)}
    early = await http.post(APPS, json=filing, headers=filer)
    assert early.status_code == 409 and early.json()["error"] == "campaign_not_open"

    await time_env.sleep(timedelta(days=1, hours=1))
    assert "campaign_opened" in await _inbox_events(time_stack, late)
    filed = await http.post(APPS, json=filing, headers=filer)
    assert filed.status_code == 201, filed.text
    app_id = filed.json()["id"]
    time_stack.started.append(app_id)

    async def campaign_view() -> dict[str, Any]:
        reply = await http.get(f"/api/campaigns/{campaign_id}", headers=admin)
        assert reply.status_code == 200, reply.text
        return reply.json()

    await time_env.sleep(timedelta(hours=1))  # lets the filing's signal land
    assert (await campaign_view())["filed"] == 1

    await time_env.sleep(timedelta(days=17))  # 14 days before closing
    await time_env.sleep(timedelta(days=11))  # 3 days before closing
    view = await campaign_view()
    assert view["reminders_sent"] == [14, 3]
    assert (await _inbox_events(time_stack, late)).count("campaign_reminder") == 2
    assert "campaign_reminder" not in await _inbox_events(time_stack, filer)

    certified = await http.post(f"{APPS}/{app_id}/actions", json={"action": "certify"},
                                headers=time_stack.caseworker("cw-2", roles="reviewer"))
    assert certified.status_code == 200, certified.text

    await time_env.sleep(timedelta(days=4))
    assert (await campaign_view())["status"] == "closed"
    too_late = await http.post(APPS, json=filing, headers=late)
    assert too_late.status_code == 409
    done = (await http.get(f"{APPS}/{app_id}", headers=filer)).json()
    assert done["status"] == "completed" and done["documents"][0]["type"] == "certification"
