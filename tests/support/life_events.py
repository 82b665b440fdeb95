"""Filing a life event's bundle through the HTTP API and following it, as the end-to-end
tests do (the demo people signed in with the card; the examples' answers over what the
questionnaire prefilled)."""

from __future__ import annotations

import json
from typing import Any

from forms.overlay import merge_patch
from identity.demo import demo_person
from tests.support.stack import eventually

TOKYO = "131016"


def signed_in(stack, person_id: str) -> dict[str, str]:
    """The demo person signed in with the card (the facts their token carries)."""
    p = demo_person(person_id)
    token = stack.issuer.issue_resident(p.id, p.name, name_kana=p.name_kana, address=p.address,
                                        birthdate=p.birthdate, gender=p.gender)
    return {"Authorization": f"Bearer {token}"}


def example(stack, life_event: str, name: str) -> dict[str, Any]:
    folder = stack.catalog.life_event(life_event).directory / "examples"
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))["answers"]


async def prefilled_answers(stack, who, life_event: str, name: str) -> tuple[dict, dict]:
    asked = await stack.http.get(f"/api/life-events/{life_event}/questionnaire",
                                 params={"municipality": TOKYO}, headers=who)
    assert asked.status_code == 200, asked.text
    body = asked.json()
    # What the resident sees prefilled stays; the rest they type (the example's answers).
    return merge_patch(example(stack, life_event, name), body["answers"]), body


async def file(stack, who, life_event: str, answers: dict, selected: list[str],
               key: str | None = None):
    headers = {**who, **({"Idempotency-Key": key} if key else {})}
    return await stack.http.post(f"/api/life-events/{life_event}/bundles", headers=headers,
                                 json={"municipality": TOKYO, "answers": answers,
                                       "selected": selected})


async def status(stack, who, bundle_id: str) -> dict[str, Any]:
    reply = await stack.http.get(f"/api/bundles/{bundle_id}", headers=who)
    assert reply.status_code == 200, reply.text
    return reply.json()


def member(view: dict[str, Any], procedure: str) -> dict[str, Any]:
    return next(m for m in view["members"] if m["procedure"] == procedure)


async def filed(stack, who, bundle_id: str, procedure: str) -> dict[str, Any]:
    async def check():
        view = await status(stack, who, bundle_id)
        found = member(view, procedure)
        return view if found["state"] in ("filed", "not_filed") else None

    return await eventually(check, timeout=60)
