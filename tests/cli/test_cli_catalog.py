"""`madoguchi catalog check DIR` and `madoguchi catalog list`, offline."""

import json
import shutil

from click.testing import CliRunner

from forms.catalog import DEFAULT_ROOT
from madoguchi.cli import main
from tests.support.lifeevents import write_flood


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


# ---- the check runs the package -------------------------------------------------------


def _grant(tmp_path, change=None, folder="my-grant"):
    package = tmp_path / folder
    shutil.copytree(DEFAULT_ROOT / "sme-telework-grant", package)
    raw = json.loads((package / "procedure.json").read_text("utf-8"))
    raw["id"] = folder
    if change is not None:
        change(raw)
    (package / "procedure.json").write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    return package


def _check(path, *extra):
    return CliRunner().invoke(main, ["catalog", "check", str(path), "--today", "2026-12-01",
                                     *extra])


def test_check_runs_the_examples_and_prints_what_they_compute(tmp_path):
    result = _check(_grant(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "my-grant@1.2.0 my-grant/examples/valid-sole-proprietor.json: valid" in lines
    assert ('  computed.grant_amount = {"amount": 150000, "cap": 1000000, '
            '"eligible_categories": ["equipment", "software", "network", "training"], '
            '"eligible_total": 300000, "rate": 0.5}') in lines
    assert any(ln.startswith('  computed.final_amount = {"amount": 140000,') for ln in lines)
    assert ("my-grant@1.2.0 my-grant/examples/invalid-too-many-employees.json: refused as "
            "expected /business/employees: maximum") in lines


def test_check_a_catalogue_directory_runs_its_own_packages(tmp_path):
    _grant(tmp_path)
    result = _check(tmp_path)
    assert result.exit_code == 0, result.output
    assert "my-grant@1.2.0 my-grant/examples/valid-corporation.json: valid" in result.output
    assert "disaster-certificate@1.3.0 " not in result.output  # the packaged ones: not run


def test_check_refuses_a_template_that_does_not_compile(tmp_path):
    package = _grant(tmp_path)
    template = package / "templates" / "grant-decision.html"
    template.write_text(template.read_text("utf-8") + "{% if computed %}", "utf-8")
    (package / "templates" / "amount-confirmation.html").write_text(
        "{{ issued_on | wareki }} {{ amount | yen }}", "utf-8")
    result = _check(package)
    assert result.exit_code == 1
    assert ("my-grant/templates/grant-decision.html: template does not compile: line "
            in result.output)
    assert "Unexpected end of template" in result.output
    assert ("my-grant/templates/amount-confirmation.html: template does not compile: line 1: "
            "No filter named 'yen'.") in result.output  # the renderer's filters: wareki is one


def test_check_refuses_array_items_without_titles(tmp_path):
    package = _grant(tmp_path)
    form = json.loads((package / "form.schema.json").read_text("utf-8"))
    del form["properties"]["expenses"]["items"]["x-title-en"]
    (package / "form.schema.json").write_text(json.dumps(form, ensure_ascii=False), "utf-8")
    result = _check(package)
    assert result.exit_code == 1
    assert ("my-grant/form.schema.json#/properties/expenses/items: field has no 'x-title-en'"
            in result.output)


def test_check_refuses_a_computation_whose_inputs_do_not_fit_the_examples(tmp_path):
    def change(raw):
        raw["stages"][1]["actions"][0]["compute"] = {"grant_amount": {
            "function": "subsidy_amount", "inputs": {"expenses": "/application/plan"},
            "params": {"rate": 0.5, "cap": 1000000, "eligible": ["equipment"]}}}

    result = _check(_grant(tmp_path, change))
    assert result.exit_code == 1
    assert ("my-grant/procedure.json#/stages/1/actions/0/compute/grant_amount: grant_amount "
            "failed on examples/valid-corporation.json: expenses must be a list of "
            "{category, amount} items") in result.output
    assert "  not run: final_amount: an earlier computation was not run" in result.output


def test_check_refuses_an_invalid_example_the_package_accepts(tmp_path):
    package = _grant(tmp_path)
    shutil.copy(package / "examples" / "valid-corporation.json",
                package / "examples" / "invalid-ok.json")
    result = _check(package)
    assert result.exit_code == 1
    assert ("my-grant/examples/invalid-ok.json: example is accepted, but an invalid-* example "
            "must be refused by the form or the eligibility rules") in result.output


def test_check_refuses_a_valid_example_the_eligibility_rules_refuse(tmp_path):
    def change(raw):
        raw["eligibility"] = [{"rule": "data.business.employees <= 10",
                               "field": "/business/employees",
                               "message": {"ja": "10人以下が対象です。", "en": "At most 10."}}]

    result = _check(_grant(tmp_path, change))
    assert result.exit_code == 1
    assert ("my-grant/examples/valid-corporation.json#/business/employees: example is "
            "refused: ineligible: At most 10.") in result.output


def test_check_refuses_a_step_example_its_schema_refuses(tmp_path):
    package = _grant(tmp_path)
    (package / "examples" / "step-submit_report.json").write_text(
        json.dumps({"completed_on": "soon"}), "utf-8")
    result = _check(package)
    assert result.exit_code == 1
    assert ("my-grant/examples/step-submit_report.json#/completed_on: step example does not "
            "validate: format") in result.output
    assert ("  not run: final_amount: failed (no such field: 'submit_report'); add "
            "examples/step-submit_report.json") in result.output
    assert "final_amount failed on" not in result.output  # no rule blamed for the example


def test_check_reports_a_bad_expression_at_its_pointer(tmp_path):
    def change(raw):
        raw["stages"][1]["actions"][0]["compute"]["grant_amount"]["values"]["cap"] = "parms.cap"

    result = _check(_grant(tmp_path, change))
    assert result.exit_code == 1
    assert ("my-grant/procedure.json#/stages/1/actions/0/compute/grant_amount/values/cap: "
            "unknown name 'parms' (an expression may read: data, steps, computed, params, "
            "today)") in result.output


def test_check_reports_a_bad_route_and_a_notice_text_naming_an_undeclared_value(tmp_path):
    def change(raw):
        raw["stages"][1]["actions"][0]["routes"] = [
            {"when": "computed.grant_amount.amont > 500000", "to": "review"}]
        raw["notices"]["payment_instruction"]["include"] = {
            "amount": "computed.grant_amount.amount"}

    package = _grant(tmp_path, change)
    for lang in ("ja", "en"):
        path = package / f"messages.{lang}.json"
        texts = json.loads(path.read_text("utf-8"))
        texts["notice.payment_instruction.body"] += " {amount} {amout}"
        path.write_text(json.dumps(texts, ensure_ascii=False), "utf-8")
    result = _check(package)
    assert result.exit_code == 1
    assert ("my-grant/procedure.json#/stages/1/actions/0/routes/0/when: "
            "computed.grant_amount.amont: 'grant_amount' has no key 'amont'") in result.output
    assert ("my-grant/messages.ja.json#/notice.payment_instruction.body: unknown "
            "placeholder(s) ['amout']") in result.output
    assert "['amount'" not in result.output  # the declared value is allowed


def test_check_a_life_event_and_its_problems_at_their_pointers(tmp_path):
    folder = write_flood(tmp_path)
    result = CliRunner().invoke(main, ["catalog", "check", str(folder)])
    assert result.exit_code == 0, result.output
    assert "life event flood@1.0.0: disaster-certificate, flood-support" in result.output
    assert "examples/basic.json: offers disaster-certificate, flood-support" in result.output
    broken = json.loads((folder / "life-event.json").read_text("utf-8"))
    broken["procedures"][1]["eligible"] = "data.owner &&"
    (folder / "life-event.json").write_text(json.dumps(broken), "utf-8")
    for target in (folder, tmp_path):
        result = CliRunner().invoke(main, ["catalog", "check", str(target)])
        assert result.exit_code == 1
        assert ("life-events/flood/life-event.json#/procedures/1/eligible: syntax error"
                in result.output)
