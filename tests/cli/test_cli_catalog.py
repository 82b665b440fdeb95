"""`madoguchi catalog check DIR` and `madoguchi catalog list`, offline."""

import json
import shutil

from click.testing import CliRunner

from forms.catalog import DEFAULT_ROOT
from madoguchi.cli import main


def test_check_a_good_package_and_the_packaged_catalogue(tmp_path):
    package = tmp_path / "disaster-certificate"
    shutil.copytree(DEFAULT_ROOT / "disaster-certificate", package)
    result = CliRunner().invoke(main, ["catalog", "check", str(package)])
    assert result.exit_code == 0, result.output
    assert "ok: disaster-certificate" in result.output


def test_check_lists_every_problem_and_exits_non_zero(tmp_path):
    package = tmp_path / "local-permit"
    shutil.copytree(DEFAULT_ROOT / "disaster-certificate", package)
    raw = json.loads((package / "procedure.json").read_text("utf-8"))
    raw["colour"] = "blue"
    (package / "procedure.json").write_text(json.dumps(raw), "utf-8")
    (package / "messages.en.json").write_text("{", "utf-8")
    result = CliRunner().invoke(main, ["catalog", "check", str(package)])
    assert result.exit_code == 1
    assert "local-permit/procedure.json#/colour: unknown key 'colour'" in result.output
    assert "local-permit/messages.en.json: invalid JSON" in result.output
    assert "2 problem(s)" in result.output

    # A catalogue directory: packages plus a municipality's overlay, checked together.
    overlays = tmp_path / "municipalities" / "131016" / "overlays"
    overlays.mkdir(parents=True)
    (overlays / "disaster-certificate.json").write_text(
        json.dumps({"form": {"properties": {"copies": {"type": "string"}}}}), "utf-8"
    )
    result = CliRunner().invoke(main, ["catalog", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        "municipalities/131016/overlays/disaster-certificate.json#/form/properties/copies/type"
    ) in result.output


def test_list_shows_versions_and_municipal_variants(tmp_path):
    overlays = tmp_path / "municipalities" / "131016" / "overlays"
    overlays.mkdir(parents=True)
    (overlays / "disaster-certificate.json").write_text(
        json.dumps({"procedure": {"processing_period": {"days": 12}}}), "utf-8"
    )
    result = CliRunner().invoke(
        main, ["catalog", "list", "--dir", str(tmp_path), "--municipality", "131016"]
    )
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("disaster-certificate@"))
    assert "(12 days)" in line and "[131016]" in line
