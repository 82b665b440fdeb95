"""児童手当 認定請求 end to end through the HTTP API: eligibility refusals (422 with the
rule's message), certification with the monthly amount computed by expressions in the
workflow, and that amount on the sealed 認定通知書."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from forms.catalog import DEFAULT_ROOT
from tests.support.stack import eventually

APPS = "/api/applications"
EXAMPLES = DEFAULT_ROOT / "child-allowance" / "examples"


def _example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def _filing(data: dict[str, Any]) -> dict[str, Any]:
    return {"procedure": "child-allowance", "municipality": "131016", "data": data}


async def test_child_allowance_claim_to_certification(stack):
    http = stack.http
    # One claim per household: the sign-in must give the registered address.
    token = stack.issuer.issue_resident("parent-1", "中村 恵", address="東京都千代田区内幸町1-3-1")
    owner = {"Authorization": f"Bearer {token}"}
    for name in ("invalid-child-past-high-school-age", "invalid-child-living-apart"):
        refused = await http.post(APPS, json=_filing(_example(name)), headers=owner)
        assert refused.status_code == 422, refused.text
        (detail,) = refused.json()["details"]
        assert detail["path"] == "/children" and detail["code"] == "ineligible"
        assert detail["message"]["ja"] and detail["message"]["en"]

    created = await http.post(APPS, json=_filing(_example("valid-three-children")),
                              headers=owner)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    reviewer = stack.caseworker("cw-1", roles="reviewer")
    certified = await http.post(f"{APPS}/{app_id}/actions", json={"action": "certify"},
                                headers=reviewer)
    assert certified.status_code == 200, certified.text
    # Two of the three are 3rd or later (one older child counts): 30,000 × 2 + 10,000.
    assert certified.json()["computed"]["allowance"] == {
        "children": 3, "under3": 1, "third_or_later": 2, "monthly": 70_000}

    async def issued():
        body = (await http.get(f"{APPS}/{app_id}", headers=owner)).json()
        return body if body["documents"] and body["status"] != "issuing" else None

    body = await eventually(issued)
    (document,) = body["documents"]
    pdf = (await http.get(document["url"], headers=owner)).content
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()
    assert "児童手当 認定通知書" in text and "70,000円" in text
