"""Walking any procedure of the catalogue from its examples, as the every-procedure tests
(pages and API) do: which action moves a stage on, a step's example input, a campaign
opened by its administrator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from forms.packages import Procedure
from forms.pointers import resolve


def forward_action(stage: Any) -> Any:
    """The action that moves the case on (not a claim, correction, return or refusal)."""
    return next((a for a in stage.actions
                 if a.kind == "transition" and a.outcome not in ("rejected", "withdrawn")
                 and a.id != "return"), None)


def step_example(procedure: Procedure, action_id: str) -> dict:
    found = procedure.directory / "examples" / f"step-{action_id}.json"
    assert found.exists(), f"{procedure.id}: no example for step {action_id}"
    return json.loads(found.read_text("utf-8"))


async def open_campaign(stack: Any, procedure: Procedure, example: dict,
                        municipality: str) -> None:
    """Open the procedure's filing period (e.g. the 現況届's), as its administrator does."""
    campaign = procedure.definition.campaign
    if campaign is None:
        return
    now = datetime.now(UTC)
    opened = await stack.http.post(
        "/api/campaigns", headers=stack.caseworker("admin-1", "admin"),
        json={"procedure": procedure.id, "municipality": municipality,
              "period": str(resolve(example, campaign.period_field)),
              "opens_at": (now - timedelta(hours=1)).isoformat(),
              "closes_at": (now + timedelta(days=30)).isoformat(), "targets": []})
    assert opened.status_code == 201, opened.text
    stack.started.append(opened.json()["campaign_id"])
