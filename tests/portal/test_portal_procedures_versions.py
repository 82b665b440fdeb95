"""A new catalogue version while a case is open: the case keeps its pinned version, new
filings get the new one (HTTP, real dev server)."""

import json
import shutil
from datetime import timedelta

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog

APPS = "/api/applications"


def _write(folder, version, days, extra_required=None):
    shutil.copytree(DEFAULT_ROOT / "disaster-certificate", folder)
    raw = json.loads((folder / "procedure.json").read_text("utf-8"))
    raw.update(version=version, processing_period={**raw["processing_period"], "days": days})
    (folder / "procedure.json").write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    if extra_required:
        form = json.loads((folder / "form.schema.json").read_text("utf-8"))
        form["properties"][extra_required] = {
            "title": "世帯の人数",
            "x-title-en": "People in the household",
            "type": "integer",
            "minimum": 1,
        }
        form["required"].append(extra_required)
        (folder / "form.schema.json").write_text(json.dumps(form, ensure_ascii=False), "utf-8")
        for example in (folder / "examples").glob("valid-*.json"):
            data = json.loads(example.read_text("utf-8"))
            example.write_text(json.dumps({**data, extra_required: 2}), "utf-8")


@pytest.fixture
def catalog(tmp_path):
    root = tmp_path / "catalog"
    root.mkdir()
    _write(root / "disaster-certificate@1.0.0", "1.0.0", 30)
    return Catalog.load(root)


def _example():
    path = DEFAULT_ROOT / "disaster-certificate" / "examples" / "valid-basic.json"
    return json.loads(path.read_text("utf-8"))


async def test_open_case_keeps_its_version_new_filings_get_the_new_one(stack, catalog):
    http, reviewer = stack.http, stack.caseworker("cw-1")
    filing = {"procedure": "disaster-certificate", "municipality": "131016"}
    first = await http.post(
        APPS, json={**filing, "data": _example()}, headers=stack.resident("r-1")
    )
    assert first.status_code == 201, first.text
    old = first.json()
    assert old["procedure_version"] == "1.0.0"

    _write(catalog.roots[0] / "disaster-certificate", "2.0.0", 60, extra_required="household")
    reloaded = await http.post(
        "/api/catalog/reload", headers=stack.caseworker("it-1", roles="admin")
    )
    assert reloaded.json()["problems"] == []
    detail = (await http.get("/api/procedures/disaster-certificate")).json()
    assert detail["version"] == "2.0.0" and detail["processing_period_days"] == 60

    # New filings: the new version, its extra required field, its longer period.
    second_headers = stack.resident("r-2", "佐藤 花子")
    refused = await http.post(APPS, json={**filing, "data": _example()}, headers=second_headers)
    assert refused.status_code == 422
    assert [d["path"] for d in refused.json()["details"]] == ["/household"]
    new = await http.post(
        APPS, json={**filing, "data": {**_example(), "household": 3}}, headers=second_headers
    )
    assert new.status_code == 201, new.text
    new = new.json()
    assert new["procedure_version"] == "2.0.0"

    def period(case):
        from datetime import datetime

        return datetime.fromisoformat(case["due_at"]) - datetime.fromisoformat(case["submitted_at"])

    assert abs(period(new) - timedelta(days=60)) < timedelta(minutes=1)
    assert abs(period(old) - timedelta(days=30)) < timedelta(minutes=1)

    # The open case goes on under 1.0.0: its correction is checked against the old form
    # (no "household"), and it reaches its end.
    app_id = old["id"]
    asked = await http.post(
        f"{APPS}/{app_id}/actions",
        headers=reviewer,
        json={"action": "request_correction", "comment": "写真の日付を確認してください"},
    )
    assert asked.status_code == 200, asked.text
    corrected = await http.post(
        f"{APPS}/{app_id}/actions",
        headers=stack.resident("r-1"),
        json={"action": "submit_correction", "data": _example()},
    )
    assert corrected.status_code == 200, corrected.text
    ended = await http.post(
        f"{APPS}/{app_id}/actions",
        headers=reviewer,
        json={"action": "reject", "comment": "対象の災害ではありません"},
    )
    assert ended.status_code == 200, ended.text
    final = (await http.get(f"{APPS}/{app_id}", headers=stack.resident("r-1"))).json()
    assert final["status"] == "rejected" and final["procedure_version"] == "1.0.0"
