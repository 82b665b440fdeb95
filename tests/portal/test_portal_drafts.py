"""Drafts: lenient saves, resumed from a second device, encrypted at rest, submitted."""

import json

import httpx
from sqlalchemy import select

from forms.catalog import DEFAULT_ROOT
from records.drafts import drafts

EXAMPLE = json.loads(
    (DEFAULT_ROOT / "disaster-certificate" / "examples" / "valid-basic.json").read_text("utf-8")
)


async def test_draft_saved_on_one_device_resumes_on_another_and_is_submitted(stack):
    resident = stack.resident("r-1", "山田 太郎")
    partial = {
        "disaster_event": "2026-typhoon-15",
        "copies": "two",
        "applicant": {"phone": "03-1234-5678"},
    }
    created = await stack.http.post(
        "/api/drafts",
        headers=resident,
        json={"procedure": "disaster-certificate", "municipality": "131016", "data": partial},
    )
    assert created.status_code == 201, created.text
    draft = created.json()
    # Lenient: saved although required answers are missing; type and format problems are
    # warnings with the field's title, missing answers are not reported at all.
    warned = {w["path"]: w for w in draft["warnings"]}
    assert set(warned) == {"/copies", "/applicant/phone"}
    assert warned["/copies"]["message"]["ja"].startswith("必要な枚数")

    # Another device: a new client and a new token for the same person.
    phone = httpx.AsyncClient(transport=stack.http._transport, base_url="http://portal")
    other_token = stack.resident("r-1", "山田 太郎")
    async with phone:
        listed = (await phone.get("/api/drafts", headers=other_token)).json()
        assert [d["id"] for d in listed] == [draft["id"]]
        resumed = (await phone.get(f"/api/drafts/{draft['id']}", headers=other_token)).json()
        assert resumed["data"] == partial and resumed["revision"] == 1
        saved = await phone.put(
            f"/api/drafts/{draft['id']}", headers=other_token, json={"data": EXAMPLE, "revision": 1}
        )
        assert saved.status_code == 200 and saved.json()["warnings"] == []

    # The first device still holds revision 1: its save is refused, not silently merged.
    stale = await stack.http.put(
        f"/api/drafts/{draft['id']}", headers=resident, json={"data": partial, "revision": 1}
    )
    assert stale.status_code == 409 and stale.json()["details"] == {"revision": 2}

    # Not readable by anyone else, nor by caseworkers.
    stranger = stack.resident("r-2", "佐藤 花子")
    assert (await stack.http.get(f"/api/drafts/{draft['id']}", headers=stranger)).status_code == 404
    assert (await stack.http.get("/api/drafts", headers=stranger)).json() == []
    assert (
        await stack.http.get("/api/drafts", headers=stack.caseworker("cw-1"))
    ).status_code == 403

    # Encrypted at rest: the row holds no answer in clear.
    with stack.inbox.engine.connect() as conn:
        row = conn.execute(select(drafts)).one()
    assert b"1234567" not in row.sealed and "山田".encode() not in row.sealed
    assert EXAMPLE["applicant"]["phone"].encode() not in row.sealed

    submitted = await stack.http.post(f"/api/drafts/{draft['id']}/submit", headers=resident)
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["procedure"] == "disaster-certificate"
    assert submitted.json()["data"] == EXAMPLE
    assert (await stack.http.get(f"/api/drafts/{draft['id']}", headers=resident)).status_code == 404


async def test_incomplete_draft_is_refused_at_submission_and_kept(stack):
    resident = stack.resident("r-3")
    draft = (
        await stack.http.post(
            "/api/drafts",
            headers=resident,
            json={"procedure": "disaster-certificate", "municipality": "131016", "data": {}},
        )
    ).json()
    refused = await stack.http.post(f"/api/drafts/{draft['id']}/submit", headers=resident)
    assert refused.status_code == 422
    assert "/applicant" in {d["path"] for d in refused.json()["details"]}
    assert (await stack.http.get(f"/api/drafts/{draft['id']}", headers=resident)).status_code == 200
    deleted = await stack.http.delete(f"/api/drafts/{draft['id']}", headers=resident)
    assert deleted.status_code == 204
    unknown = await stack.http.post(
        "/api/drafts",
        headers=resident,
        json={"procedure": "nope", "municipality": "131016", "data": {}},
    )
    assert unknown.status_code == 404


async def test_a_draft_no_form_can_hold_is_refused_and_the_list_keeps_working(stack):
    """Issue #15: drafts nested 900 deep were stored, and GET /api/drafts answered 500 for
    ever after; a lone surrogate in a name gave 500."""
    resident = stack.resident("r-deep", "山田 太郎")
    deep: object = "x"
    for _ in range(900):
        deep = [deep]
    for data in ({"applicant": {"note": deep}}, {"applicant": {"name": {"family": "\ud800"}}}):
        refused = await stack.http.post(
            "/api/drafts", headers={**resident, "Content-Type": "application/json"},
            content=json.dumps({"procedure": "disaster-certificate", "municipality": "131016",
                                "data": data}))
        assert refused.status_code == 422, refused.text[:300]
    kept = await stack.http.post(
        "/api/drafts", headers=resident,
        json={"procedure": "disaster-certificate", "municipality": "131016", "data": {}})
    assert kept.status_code == 201
    deeper = await stack.http.put(f"/api/drafts/{kept.json()['id']}",
                                  headers={**resident, "Content-Type": "application/json"},
                                  content=json.dumps({"data": {"applicant": {"note": deep}}}))
    assert deeper.status_code == 422, deeper.text[:300]
    listed = await stack.http.get("/api/drafts", headers=resident)
    assert listed.status_code == 200 and [d["id"] for d in listed.json()] == [kept.json()["id"]]


async def test_a_draft_the_pages_made_is_filed_through_the_api_without_their_state(stack):
    """The pages keep their own state (page reached, whom for) in the draft: the API never
    shows it, files without it, and a filed marker is no longer listed."""
    resident = stack.resident("r-pages", "山田 太郎")
    page_made = {**EXAMPLE, "_wizard": {"page": "damage", "who": "self"}}
    created = await stack.http.post("/api/drafts", headers=resident, json={
        "procedure": "disaster-certificate", "municipality": "131016", "data": page_made})
    assert created.status_code == 201, created.text
    assert "_wizard" not in created.json()["data"] and created.json()["warnings"] == []
    draft_id = created.json()["id"]
    submitted = await stack.http.post(f"/api/drafts/{draft_id}/submit", headers=resident)
    assert submitted.status_code == 201, submitted.text
    marker = await stack.http.post("/api/drafts", headers=resident, json={
        "procedure": "disaster-certificate", "municipality": "131016",
        "data": {"_wizard": {"filed": submitted.json()["id"]}}})
    assert marker.status_code == 201
    assert (await stack.http.get("/api/drafts", headers=resident)).json() == []
