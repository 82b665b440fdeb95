"""Revoking an issued certificate through the HTTP API: an approver asks with a reason, a
second approver confirms (four eyes); both steps are in the case's timeline, the register
and the public verify page then say revoked, and the case's history still replays."""

from __future__ import annotations

from temporalio.worker import Replayer

from tests.support.filing import APPS, act, example, filing, issued
from tests.support.stack import documents_of, eventually
from workflows.procedure import ProcedureWorkflow


async def _certificate(stack, catalog) -> tuple[str, str]:
    http, resident = stack.http, stack.resident()
    surveyor, approver = stack.caseworker("cw-s"), stack.caseworker("cw-a1", roles="approver")
    app_id = (await http.post(APPS, json=filing(example(catalog)), headers=resident)).json()["id"]
    for who, action, body in (
        (surveyor, "accept", {}),
        (surveyor, "survey", {"data": {"damage_ratio": 55, "surveyed_on": "2026-10-02"}}),
        (approver, "approve", {}),
    ):
        reply = await act(http, app_id, who, action, **body)
        assert reply.status_code == 200, (action, reply.text)
    body = await eventually(lambda: issued(http, app_id, resident))
    return app_id, documents_of(body, "certificate")[0]["id"]


async def test_a_revocation_needs_the_role_and_a_second_caseworker(stack, catalog):
    http = stack.http
    app_id, doc = await _certificate(stack, catalog)
    url = f"/api/documents/{doc}/revoke"
    first = stack.caseworker("cw-a1", roles="approver")
    second = stack.caseworker("cw-a2", roles="approver")
    reason = {"reason": "再調査により被害の程度を変更したため"}

    assert (await http.post(url, json=reason)).status_code == 401
    elsewhere = await http.post(url, json=reason,
                                headers=stack.caseworker("cw-y", municipality="141003"))
    assert elsewhere.status_code == 403 and elsewhere.json()["error"] == "other_municipality"
    no_role = await http.post(url, json=reason,
                              headers=stack.caseworker("cw-r", roles="reviewer,surveyor"))
    assert no_role.status_code == 403 and no_role.json()["error"] == "role_required"
    blank = await http.post(url, json={"reason": "  "}, headers=first)
    assert blank.status_code == 422 and blank.json()["error"] == "reason_required"
    nothing = await http.post(f"{url}/confirm", headers=second)
    assert nothing.status_code == 409 and nothing.json()["error"] == "no_revocation_requested"

    asked = await http.post(url, json=reason, headers=first)
    assert asked.status_code == 202, asked.text
    assert asked.json()["document"]["status"] == "valid"
    assert asked.json()["revocation"]["requested_by"] == "cw-a1"
    assert asked.json()["revocation"]["confirmed_by"] is None
    assert stack.register.get(doc).status == "valid"
    twice = await http.post(url, json=reason, headers=second)
    assert twice.status_code == 409 and twice.json()["error"] == "revocation_pending"
    own = await http.post(f"{url}/confirm", headers=first)
    assert own.status_code == 403 and own.json()["error"] == "four_eyes"

    confirmed = await http.post(f"{url}/confirm", headers=second)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["document"]["status"] == "revoked"
    assert confirmed.json()["revocation"]["confirmed_by"] == "cw-a2"
    change = stack.register.status_change(doc)
    assert change is not None and change.actor == "cw-a1+cw-a2"
    assert change.reason == reason["reason"]
    again = await http.post(url, json=reason, headers=second)
    assert again.status_code == 409 and again.json()["error"] == "already_revoked"

    view = (await http.get(f"{APPS}/{app_id}", headers=second)).json()
    steps = [(e["event"], e["actor"]) for e in view["timeline"]
             if e["event"] in ("revocation_requested", "revoked")]
    assert steps == [("revocation_requested", "cw-a1"), ("revoked", "cw-a2")]
    page = (await http.get(f"/verify/{doc}")).text
    assert "取消し" in page and reason["reason"] in page

    history = await stack.client.get_workflow_handle(app_id).fetch_history()
    await Replayer(workflows=[ProcedureWorkflow],
                   data_converter=stack.client.data_converter).replay_workflow(history)
