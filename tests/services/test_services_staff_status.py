"""Queues, previews and case histories for caseworkers (#17): due dates of new cases, what
「未処理の案件」 holds, the confirmation's preview equal to what the workflow computes, the
changes a correction made, and the phone reference."""

from __future__ import annotations

import datetime as dt
import json
import re

from identity.principals import Caseworker
from services.previews import case_history, diff_data, preview_action
from tests.support.filing import APPS, act, example, filing, issued
from tests.support.stack import eventually
from workflows.references import normalize_reference, spoken_reference


def _staff(sub: str = "cw-1", roles: tuple[str, ...] = ("reviewer", "surveyor", "approver")):
    return Caseworker(issuer="test", subject=sub, name="千代田 花子",
                      municipalities=frozenset({"131016"}), roles=frozenset(roles))


async def _file(stack, catalog, sub: str = "demo-1", name: str = "valid-basic") -> str:
    created = await stack.http.post(APPS, json=filing(example(catalog, name)),
                                    headers=stack.resident(sub))
    assert created.status_code == 201, created.text
    stack.started.append(created.json()["id"])
    return created.json()["id"]


async def _row(stack, caseworker, app_id, **filters):
    async def found():
        rows = await stack.cases.list_cases(caseworker, **filters)
        return next((r for r in rows if r.id == app_id), None)
    return await eventually(found)


async def test_a_new_case_is_in_the_queue_with_its_due_date(stack, catalog):
    app_id = await _file(stack, catalog)
    row = await _row(stack, _staff(), app_id, open_only=True)
    # Before: the start set no MadoDueAt and the workflow (counting it as set) never did,
    # so new cases fell under 「期限なし」 and the overdue filter missed them.
    assert row.due_at is not None
    view = (await stack.cases.details(_staff(), app_id)).view
    assert abs(row.due_at - view.due_at) < dt.timedelta(seconds=5)
    assert abs(row.due_at - view.submitted_at - dt.timedelta(days=30)) < dt.timedelta(seconds=5)


async def test_an_issued_case_is_not_among_the_open_ones(stack, catalog):
    http, resident = stack.http, stack.resident()
    surveyor, approver = stack.caseworker("cw-1"), stack.caseworker("cw-2", roles="approver")
    app_id = await _file(stack, catalog)
    for action, body in (("accept", {}),
                         ("survey", {"data": {"damage_ratio": 45, "surveyed_on": "2026-10-01"}})):
        answer = await act(http, app_id, surveyor, action, **body)
        assert answer.status_code == 200, answer.text
    assert (await act(http, app_id, approver, "approve")).status_code == 200
    await eventually(lambda: issued(http, app_id, resident))

    async def left_the_queue():
        seen = await stack.cases.list_cases(_staff(), open_only=True)
        every = await stack.cases.list_cases(_staff())
        row = next((r for r in every if r.id == app_id), None)
        return (row is not None and row.status == "awaiting_applicant"
                and all(r.id != app_id for r in seen))
    # Before: awaiting_applicant counted as open, so 交付済み cases stayed in the queue.
    assert await eventually(left_the_queue)


async def test_the_preview_is_what_the_workflow_computes(stack, catalog):
    http, staff = stack.http, stack.caseworker("cw-1")
    app_id = await _file(stack, catalog)
    assert (await act(http, app_id, staff, "accept")).status_code == 200
    details = await stack.cases.details(_staff(), app_id)
    procedure = stack.cases.pinned(details.view)
    action = procedure.definition.stage("survey").action("survey")
    for ratio in (9.5, 42.5, 45, 50):
        data = {"damage_ratio": ratio, "surveyed_on": "2026-10-01"}
        preview = preview_action(procedure, details.view, action, data,
                                 now=dt.datetime.now(dt.UTC))
        assert set(preview) == {"damage_grade"}
        if ratio == 45:
            kept = preview
    taken = await act(http, app_id, staff, "survey",
                      data={"damage_ratio": 45, "surveyed_on": "2026-10-01"})
    assert taken.status_code == 200, taken.text
    assert taken.json()["computed"] == kept
    assert kept["damage_grade"]["code"] == "large_scale_half"


async def test_the_grant_preview_is_what_the_workflow_computes(stack, catalog):
    """A calculation of several parts (the grant amount) previews part for part."""
    http = stack.http
    directory = catalog.get("sme-telework-grant").directory / "examples"
    data = json.loads((directory / "valid-sole-proprietor.json").read_text(encoding="utf-8"))
    created = await http.post(APPS, json={"procedure": "sme-telework-grant",
                                          "municipality": "131016", "data": data},
                              headers=stack.resident("sole-1", "鈴木 花子"))
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    stack.started.append(app_id)
    reviewer = stack.caseworker("cw-1", roles="reviewer,approver")
    assert (await act(http, app_id, reviewer, "accept")).status_code == 200
    details = await stack.cases.details(_staff(roles=("approver",)), app_id)
    procedure = stack.cases.pinned(details.view)
    action = procedure.definition.stage("decision").action("decide_grant")
    preview = preview_action(procedure, details.view, action, None,
                             now=dt.datetime.now(dt.UTC))
    decided = await act(http, app_id, stack.caseworker("cw-2", roles="approver"),
                        "decide_grant")
    assert decided.status_code == 200, decided.text
    assert decided.json()["computed"] == preview
    assert preview["grant_amount"]["amount"] == 150_000


async def test_the_changes_of_a_correction_come_from_the_history(stack, catalog):
    http = stack.http
    staff = {"Authorization": "Bearer " + stack.issuer.issue_caseworker(
        "cw-1", ["131016"], ["reviewer"], name="千代田 花子")}
    app_id = await _file(stack, catalog)
    assert (await act(http, app_id, staff, "claim")).status_code == 200
    view = (await stack.cases.details(_staff(), app_id)).view
    assert (await case_history(stack.cases, view)).changes is None  # nothing came back yet
    asked = await act(http, app_id, staff, "request_correction",
                      comment="電話番号を直してください。")
    assert asked.status_code == 200
    amended = example(catalog)
    amended["applicant"]["phone"] = "0398765432"
    amended["damage"]["description"] = "屋根の瓦が飛びました。"
    sent = await act(http, app_id, stack.resident(), "submit_correction", data=amended)
    assert sent.status_code == 200, sent.text
    view = (await stack.cases.details(_staff(), app_id)).view
    history = await case_history(stack.cases, view)
    assert [(c.pointer, c.before, c.after) for c in history.changes] == [
        ("/applicant/phone", "0312345678", "0398765432"),
        ("/damage/description", example(catalog)["damage"]["description"],
         "屋根の瓦が飛びました。"),
    ]
    # The caseworker who claimed the case, by the name they signed in with.
    assert history.names == {"cw-1": "千代田 花子"}


def test_diff_lists_changed_leaves_in_document_order():
    before = {"a": 1, "b": {"c": "x", "d": [1, 2]}, "e": [{"f": 1}], "g": "same"}
    after = {"a": 2, "b": {"c": "x", "d": [1, 3]}, "e": [{"f": 1}, {"f": 2}], "g": "same",
             "h/i": True}
    assert [(c.pointer, c.before, c.after) for c in diff_data(before, after)] == [
        ("/a", 1, 2), ("/b/d", [1, 2], [1, 3]), ("/e/1/f", None, 2), ("/h~1i", None, True)]


def test_the_phone_reference_is_short_stable_and_unambiguous():
    ids = [f"app-{n:026d}" for n in range(2000)]
    refs = [spoken_reference(i) for i in ids]
    assert refs == [spoken_reference(i) for i in ids]  # a pure function of the id
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", r) for r in refs)
    assert len(set(refs)) == len(refs)
    ref = refs[7]
    assert normalize_reference(ref.lower().replace("-", " ")) == ref
    spoken = ref.replace("0", "O").replace("1", "I")
    assert normalize_reference(spoken) == ref  # O read as 0, I (and L) as 1
    assert normalize_reference("ABC") is None and normalize_reference("UUUU-UUUU") is None
