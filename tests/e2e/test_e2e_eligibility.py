"""A procedure with eligibility rules and expression amounts, plugged in from a folder, end
to end through the HTTP API: an ineligible filing is a 422 naming the field with the
rule's ja/en message; an eligible one runs to its computed grant."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from forms.catalog import DEFAULT_ROOT, Catalog
from forms.compute import compute_action
from tests.support.stack import running_stack

APPS = "/api/applications"
RULE = {"rule": "data.business.employees <= params.max_employees",
        "field": "/business/employees",
        "message": {"ja": "従業員が10人以下の事業者が対象です。",
                    "en": "Only businesses with at most 10 employees are eligible."}}


def _catalog_dir(root: Path) -> Path:
    target = root / "catalog" / "small-grant"
    shutil.copytree(DEFAULT_ROOT / "sme-telework-grant", target)
    raw = json.loads((target / "procedure.json").read_text("utf-8"))
    raw.update(id="small-grant", eligibility=[RULE])
    raw["params"]["max_employees"] = 10
    (target / "procedure.json").write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    return root / "catalog"


async def test_eligibility_and_expression_amounts_from_a_folder(dev_env, tmp_path,
                                                                sealed_documents):
    catalog = Catalog.load(DEFAULT_ROOT, _catalog_dir(tmp_path))
    assert catalog.problems == []
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    example = json.loads((DEFAULT_ROOT / "sme-telework-grant" / "examples" /
                          "valid-corporation.json").read_text("utf-8"))
    async with running_stack(dev_env.client, data_dir, catalog, sealed_documents) as stack:
        owner = stack.resident("corp-1", "佐藤 一郎")
        refused = await stack.http.post(APPS, json={
            "procedure": "small-grant", "municipality": "131016", "data": example},
            headers=owner)
        assert refused.status_code == 422, refused.text
        details = refused.json()["details"]
        assert [(d["path"], d["code"], d["message"]) for d in details] == [
            ("/business/employees", "ineligible", RULE["message"])]

        example["business"]["employees"] = 8
        created = await stack.http.post(APPS, json={
            "procedure": "small-grant", "municipality": "131016", "data": example},
            headers=owner)
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]
        reviewer = stack.caseworker("cw-1", roles="reviewer")
        approver = stack.caseworker("cw-2", roles="approver")
        accepted = await stack.http.post(f"{APPS}/{app_id}/actions",
                                         json={"action": "accept"}, headers=reviewer)
        assert accepted.status_code == 200, accepted.text
        decided = await stack.http.post(f"{APPS}/{app_id}/actions",
                                        json={"action": "decide_grant"}, headers=approver)
        assert decided.status_code == 200, decided.text
        computed = decided.json()["computed"]["grant_amount"]
        standard = catalog.get("sme-telework-grant", "1.1.0")  # the named computation
        action = next(a for s in standard.definition.stages for a in s.actions
                      if a.id == "decide_grant")
        expected = compute_action(standard.definition, action, {}, application=example,
                                  steps={}, computed={}, today="2026-12-01")
        assert computed == expected["grant_amount"]
        assert computed["amount"] > 0
