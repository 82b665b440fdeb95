"""Eligibility rules: a definition refuses a filing with its own ja/en message."""

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog
from forms.filing import validate_application
from forms.municipalities import load_municipalities

RULES = [
    {"rule": "data.business.employees <= params.max_employees", "field": "/business/employees",
     "message": {"ja": "従業員が50人以下の事業者が対象です。",
                 "en": "Only businesses with at most 50 employees are eligible."}},
    {"rule": "data.plan.start_date >= today",
     "field": "/plan/start_date",
     "message": {"ja": "開始日は申請日以降にしてください。",
                 "en": "The start date must not be before the filing date."}},
]


def _package(root: Path, rules: list[dict], params: dict | None = None) -> Path:
    target = root / "local-grant"
    shutil.copytree(DEFAULT_ROOT / "sme-telework-grant", target)
    raw = json.loads((target / "procedure.json").read_text("utf-8"))
    raw.update(id="local-grant", eligibility=rules)
    raw["params"].update(params or {"max_employees": 50})
    (target / "procedure.json").write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    return target


def _example() -> dict:
    path = DEFAULT_ROOT / "sme-telework-grant" / "examples" / "valid-corporation.json"
    return json.loads(path.read_text("utf-8"))


@pytest.fixture
def procedure(tmp_path):
    _package(tmp_path, RULES)
    catalog = Catalog.load(tmp_path)
    assert catalog.problems == []
    return catalog.get("local-grant")


TOKYO = load_municipalities()["131016"]


def test_an_eligible_filing_passes(procedure):
    result = validate_application(procedure, TOKYO, _example(), today=dt.date(2026, 11, 1))
    assert result.valid, result.errors


def test_an_ineligible_filing_is_refused_at_the_field_with_the_rule_message(procedure):
    data = _example()
    data["business"]["employees"] = 51
    result = validate_application(procedure, TOKYO, data, today=dt.date(2026, 12, 2))
    assert not result.valid
    assert [(e.path, e.code, e.message) for e in result.errors] == [
        ("/business/employees", "ineligible", RULES[0]["message"]),
        ("/plan/start_date", "ineligible", RULES[1]["message"]),
    ]


def test_rules_read_today_as_passed_in(procedure):
    data = _example()  # the plan starts on 2026-12-01
    assert validate_application(procedure, TOKYO, data, today=dt.date(2026, 12, 1)).valid
    refused = validate_application(procedure, TOKYO, data, today=dt.date(2026, 12, 2))
    assert [e.path for e in refused.errors] == ["/plan/start_date"]


def test_rules_wait_for_a_form_that_passes_its_schema(procedure):
    data = _example()
    data["business"]["employees"] = "many"
    result = validate_application(procedure, TOKYO, data, today=dt.date(2026, 11, 1))
    assert {e.code for e in result.errors} == {"type"}


def test_an_overlay_changes_a_parameter_a_rule_reads(tmp_path):
    _package(tmp_path, RULES)
    overlay = tmp_path / "municipalities" / "131016" / "overlays"
    overlay.mkdir(parents=True)
    (overlay / "local-grant.json").write_text(
        json.dumps({"procedure": {"params": {"max_employees": 10}}}), "utf-8")
    catalog = Catalog.load(DEFAULT_ROOT, tmp_path)
    assert catalog.problems == []
    local = catalog.get("local-grant", municipality="131016")
    assert local.definition.params["max_employees"] == 10
    refused = validate_application(local, TOKYO, _example(), today=dt.date(2026, 11, 1))
    assert [e.path for e in refused.errors] == ["/business/employees"]  # 12 > 10


@pytest.mark.parametrize(
    ("params", "pointer", "message"),
    [
        ({"max_employes": 10}, "/procedure/params/max_employes",
         "the standard declares no parameter 'max_employes' (declared: cap, eligible, "
         "max_employees, rate)"),
        ({"max_employees": "10"}, "/procedure/params/max_employees",
         "the parameter 'max_employees' is a number; an overlay cannot make it a text"),
        ({"max_employees": None}, "/procedure/params/max_employees",
         "an overlay cannot remove the parameter 'max_employees'"),
    ],
)
def test_an_overlay_cannot_add_remove_or_retype_a_parameter(tmp_path, params, pointer, message):
    _package(tmp_path, RULES)
    overlay = tmp_path / "municipalities" / "131016" / "overlays"
    overlay.mkdir(parents=True)
    (overlay / "local-grant.json").write_text(
        json.dumps({"procedure": {"params": params}}), "utf-8")
    catalog = Catalog.load(DEFAULT_ROOT, tmp_path)
    found = [(p.pointer, p.message) for p in catalog.problems]
    assert found == [(pointer, f"{message} (version 1.2.0)")], found
    assert all(p.municipality != "131016" for p in catalog.procedures("131016")
               if p.id == "local-grant")


def test_a_rule_field_must_be_a_field_of_the_form(tmp_path):
    bad = [{**RULES[0], "field": "/business/employes"}]
    _package(tmp_path, bad)
    catalog = Catalog.load(tmp_path)
    assert [str(p) for p in catalog.problems] == [
        "local-grant/procedure.json#/eligibility/0/field: '/business/employes' is not a "
        "field of the form"]
