"""A 申請控え that cannot be made (a defect of the package) must not cost the resident their
filing: the case goes on, says so in its timeline, and the receipt still goes out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from forms.catalog import DEFAULT_ROOT, Catalog
from tests.support.filing import APPS, act, example, filing, issued
from tests.support.stack import documents_of, eventually, running_stack

BROKEN = "9.2.0"


def broken_copy_catalog(root: Path) -> Catalog:
    """The 罹災証明書 as version 9.2.0, its 申請控え template using a variable nobody passes
    (a TemplateError: not retryable)."""
    target = root / f"disaster-certificate@{BROKEN}"
    shutil.copytree(DEFAULT_ROOT / "disaster-certificate", target)
    definition = json.loads((target / "procedure.json").read_text(encoding="utf-8"))
    definition["version"] = BROKEN
    (target / "procedure.json").write_text(json.dumps(definition, ensure_ascii=False))
    template = target / "templates" / "application-copy.html"
    template.write_text(template.read_text(encoding="utf-8").replace(
        "<h1>申請控え</h1>", "<h1>{{ no_such_value.title }}</h1>"), encoding="utf-8")
    return Catalog.load(DEFAULT_ROOT, root)


async def test_a_copy_that_cannot_be_made_does_not_stop_the_case(
        dev_env, tmp_path, sealed_documents):
    catalog = broken_copy_catalog(tmp_path / "catalog")
    assert catalog.get("disaster-certificate").version == BROKEN
    (tmp_path / "data").mkdir()
    async with running_stack(dev_env.client, tmp_path / "data", catalog,
                             sealed_documents) as stack:
        http, resident = stack.http, stack.resident("broken-1", "壊 れた")
        data = example(catalog)
        filed = await http.post(APPS, json=filing(data), headers=resident)
        assert filed.status_code == 201, filed.text
        app_id = filed.json()["id"]

        async def told():
            view = (await http.get(f"{APPS}/{app_id}", headers=resident)).json()
            return view if "document_failed" in [e["event"] for e in view["timeline"]] else None

        view = await eventually(told, timeout=30)
        assert view["status"] == "in_progress" and documents_of(view, "application-copy") == []

        async def receipt():
            inbox = (await http.get("/api/inbox", headers=resident)).json()
            return [e for e in inbox if e["application_id"] == app_id]

        assert [e["event"] for e in await eventually(receipt)] == ["submitted"]
        # The case goes on to its certificate as usual.
        surveyor, approver = stack.caseworker("cw-1"), stack.caseworker("cw-2", roles="approver")
        assert (await act(http, app_id, surveyor, "accept")).status_code == 200
        assert (await act(http, app_id, surveyor, "survey", data={
            "damage_ratio": 30, "surveyed_on": "2026-10-01"})).status_code == 200
        assert (await act(http, app_id, approver, "approve")).status_code == 200
        final = await eventually(lambda: issued(http, app_id, resident), timeout=30)
        assert len(documents_of(final, "certificate")) == 1
        await stack.client.get_workflow_handle(app_id).terminate("test over")
