"""An action takes only the input its definition declares (issue #15: an action without
an input schema accepted any ``data``; 2.4 MB of it made the workflow task fail)."""

from __future__ import annotations

from tests.support.filing import APPS, act, example, filing


async def test_data_for_an_action_that_takes_none_is_refused_before_the_update(stack, catalog):
    http, resident = stack.http, stack.resident()
    reviewer = stack.caseworker("cw-in")
    app_id = (await http.post(APPS, json=filing(example(catalog)), headers=resident)).json()["id"]
    for who, action in ((reviewer, "accept"), (resident, "withdraw")):
        refused = await act(http, app_id, who, action, data={"note": "x" * 1000})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "data_not_accepted"
    view = (await http.get(f"{APPS}/{app_id}", headers=reviewer)).json()
    assert view["stage"] == "intake" and view["status"] == "in_progress"
    assert (await act(http, app_id, reviewer, "accept")).status_code == 200
