"""Plug-in without code: extra catalogue directories, reloads, versions side by side."""

import json
import shutil
from pathlib import Path

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog, UnknownProcedure

PACKAGE = DEFAULT_ROOT / "disaster-certificate"


def _package(root: Path, folder: str, pid: str = "local-permit", version: str = "1.0.0") -> Path:
    target = root / folder
    shutil.copytree(PACKAGE, target)
    raw = json.loads((target / "procedure.json").read_text(encoding="utf-8"))
    raw.update(id=pid, version=version)
    (target / "procedure.json").write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    return target


def test_configured_directory_extends_the_packaged_catalogue_after_a_reload(tmp_path):
    catalog = Catalog.configured(tmp_path)
    standard = {p.id for p in catalog.procedures()}
    assert "disaster-certificate" in standard
    _package(tmp_path, "local-permit")
    assert "local-permit" not in {p.id for p in catalog.latest()}
    assert catalog.reload() == [] or all("local-permit" not in p.file for p in catalog.problems)
    assert {p.id for p in catalog.latest()} == standard | {"local-permit"}


def test_broken_package_is_refused_and_the_rest_keeps_working(tmp_path):
    catalog = Catalog.configured(tmp_path)
    broken = _package(tmp_path, "broken-permit", pid="broken-permit")
    (broken / "messages.en.json").write_text("{", "utf-8")
    raw = json.loads((broken / "form.schema.json").read_text("utf-8"))
    raw["properties"]["copies"]["type"] = "integr"
    (broken / "form.schema.json").write_text(json.dumps(raw), "utf-8")
    catalog.reload()
    files = {p.file for p in catalog.problems}
    assert {"broken-permit/messages.en.json", "broken-permit/form.schema.json"} <= files
    with pytest.raises(UnknownProcedure):
        catalog.get("broken-permit")
    assert catalog.get("disaster-certificate").id == "disaster-certificate"


def test_a_package_broken_after_loading_keeps_its_last_good_contents(tmp_path):
    package = _package(tmp_path, "local-permit")
    catalog = Catalog.load(tmp_path)
    good = catalog.get("local-permit", "1.0.0")
    (package / "procedure.json").write_text("{oops", "utf-8")
    catalog.reload()
    assert catalog.get("local-permit", "1.0.0") is good  # cases pinned to it keep working
    messages = [p.message for p in catalog.problems]
    assert any("stay in force" in m for m in messages)
    assert any("invalid JSON" in m for m in messages)


def test_versions_side_by_side_newest_by_default(tmp_path):
    _package(tmp_path, "local-permit@1.0.0", version="1.0.0")
    _package(tmp_path, "local-permit", version="1.2.0")
    catalog = Catalog.load(tmp_path)
    assert catalog.problems == []
    assert catalog.get("local-permit").version == "1.2.0"
    assert catalog.get("local-permit", "1.0.0").directory.name == "local-permit@1.0.0"
    assert [p.version for p in catalog.procedures()] == ["1.0.0", "1.2.0"]
    assert [p.version for p in catalog.latest()] == ["1.2.0"]


def test_version_folder_must_match_its_procedure_json(tmp_path):
    _package(tmp_path, "local-permit@2.0.0", version="1.0.0")
    _package(tmp_path, "other@1.0.0", pid="local-permit")
    catalog = Catalog.load(tmp_path)
    found = {(p.file, p.pointer) for p in catalog.problems}
    assert ("local-permit@2.0.0/procedure.json", "/version") in found
    assert ("other@1.0.0/procedure.json", "/id") in found
    assert catalog.procedures() == []


def test_get_of_a_new_version_reloads_when_files_changed(tmp_path):
    _package(tmp_path, "local-permit")
    catalog = Catalog.load(tmp_path)
    _package(tmp_path, "local-permit@1.1.0", version="1.1.0")
    # A worker asked for a version that appeared after it started finds it.
    assert catalog.get("local-permit", "1.1.0").version == "1.1.0"
    with pytest.raises(UnknownProcedure):
        catalog.get("local-permit", "7.0.0")
