"""Every procedure of the catalogue through the HTTP API, from its own examples: each
``examples/valid-*.json`` of every latest version (found in the catalogue, not listed
here), plus a package added from a folder at test time (a copy of the grant, under another
id), is filed, holds exactly the example's data, and is taken stage by stage to its end by
the actors the definition names (caseworkers of the stage's role, a different one for each
action so that every four-eyes rule is met; the applicant for its own steps, with
``examples/step-<action>.json``). A procedure that issues documents has them at the end.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog
from tests.support.catalogue_cases import forward_action, open_campaign, step_example
from tests.support.stack import eventually, running_stack

APPS = "/api/applications"
MUNICIPALITY = "131016"
EXTRA_ID = "local-telework-grant"  # the package added from a folder


def _cases() -> list[tuple[str, Path]]:
    found = [(p.id, example) for p in Catalog.load().latest()
             for example in sorted((p.directory / "examples").glob("valid-*.json"))]
    grant = DEFAULT_ROOT / "sme-telework-grant" / "examples" / "valid-corporation.json"
    return [*found, (EXTRA_ID, grant)]


def _folder(root: Path) -> Path:
    target = root / EXTRA_ID
    shutil.copytree(DEFAULT_ROOT / "sme-telework-grant", target)
    definition = json.loads((target / "procedure.json").read_text("utf-8"))
    definition["id"] = EXTRA_ID
    (target / "procedure.json").write_text(json.dumps(definition, ensure_ascii=False), "utf-8")
    return root


@pytest.mark.parametrize(("procedure_id", "example_path"), _cases(),
                         ids=lambda v: v if isinstance(v, str) else v.stem)
async def test_every_procedure_through_the_api(procedure_id, example_path, dev_env, tmp_path,
                                              sealed_documents, monkeypatch):
    catalog = Catalog.load()
    if procedure_id == EXTRA_ID:
        directory = _folder(tmp_path / "catalog")
        monkeypatch.setenv("MADOGUCHI_CATALOG_DIR", str(directory))
        catalog = Catalog.configured(directory)
        assert catalog.problems == []
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    async with running_stack(dev_env.client, data_dir, catalog, sealed_documents) as stack:
        procedure = catalog.get(procedure_id, None, MUNICIPALITY)
        example = json.loads(example_path.read_text("utf-8"))
        await open_campaign(stack, procedure, example, MUNICIPALITY)
        token = stack.issuer.issue_resident("every-1", "山田 太郎",
                                            address="東京都千代田区九段南1-2-1")
        applicant = {"Authorization": f"Bearer {token}"}
        filed = await stack.http.post(APPS, headers=applicant, json={
            "procedure": procedure_id, "municipality": MUNICIPALITY, "data": example})
        assert filed.status_code == 201, filed.text
        app_id = filed.json()["id"]
        stack.started.append(app_id)

        async def view() -> dict[str, Any]:
            answer = await stack.http.get(f"{APPS}/{app_id}",
                                          headers=stack.caseworker("every-reader"))
            assert answer.status_code == 200, answer.text
            return answer.json()

        async def settled() -> dict[str, Any] | None:
            current = await view()
            return None if current["status"] == "issuing" else current

        assert (await view())["data"] == example
        taken: list[str] = []
        for turn in range(12):
            current = await eventually(settled, timeout=60)
            stage = procedure.definition.stage(current["stage"])
            if current["status"] != "in_progress" and current["status"] != "awaiting_applicant":
                break
            action = forward_action(stage) if stage else None
            if action is None or (stage.actor == "applicant" and not action.input_schema):
                break  # e.g. an issued 罹災証明書: the resident may ask for a re-survey, or not
            body: dict[str, Any] = {"action": action.id}
            if action.input_schema:
                body["data"] = step_example(procedure, action.id)
            headers = (applicant if stage.actor == "applicant" else
                       stack.caseworker(f"every-cw-{turn}", roles=stage.role))
            answer = await stack.http.post(f"{APPS}/{app_id}/actions", headers=headers,
                                           json=body)
            assert answer.status_code == 200, (action.id, answer.text)
            taken.append(action.id)
        assert taken, "no action was taken"
        issues = {d for s in procedure.definition.stages for a in s.actions for d in a.issue}

        async def ended() -> dict[str, Any] | None:
            current = await settled()
            if current is None or (issues and not {d["type"] for d in current["documents"]}
                                   & issues):
                return None  # documents are issued after the decision, in the background
            return current

        final = await eventually(ended, timeout=60)
        assert final["status"] in ("completed", "awaiting_applicant"), (taken, final["status"])
