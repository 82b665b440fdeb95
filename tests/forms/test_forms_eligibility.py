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


def _certificate_filing(damage_date: str) -> dict:
    path = DEFAULT_ROOT / "disaster-certificate" / "examples" / "valid-basic.json"
    data = json.loads(path.read_text("utf-8"))
    data["damage"]["date"] = damage_date
    return data


@pytest.mark.parametrize(("damage_date", "message"), [
    ("2026-09-19", "被害を受けた日が、選んだ災害の発生日より前になっています。災害の発生日以降の"
                   "日付を入力してください。"),
    ("2026-12-02", "被害を受けた日に、未来の日付は入力できません。"),
])
def test_a_damage_date_outside_the_disaster_window_is_refused(damage_date, message):
    """The 罹災証明書 that certified damage from before the disaster (#17, item 2): the
    rule reads the declared event's date (events) and today, as data."""
    procedure = Catalog.load().get("disaster-certificate")
    chiyoda = load_municipalities()["131016"]  # typhoon 15: 2026-09-20
    today = dt.date(2026, 12, 1)
    result = validate_application(procedure, chiyoda, _certificate_filing(damage_date),
                                  today=today)
    assert [(e.path, e.code, e.message["ja"]) for e in result.errors] == [
        ("/damage/date", "ineligible", message)]
    assert result.errors[0].message["en"].startswith("The date of damage")
    for fine in ("2026-09-20", "2026-12-01"):
        assert validate_application(procedure, chiyoda, _certificate_filing(fine),
                                    today=today).valid


def test_rules_read_the_verified_sign_in_as_applicant(tmp_path):
    rule = {"rule": "applicant.kind == 'business'", "field": "",
            "message": {"ja": "事業者の方のみ", "en": "Businesses only"}}
    procedure = Catalog.load(_package(tmp_path, [rule]).parent).get("local-grant")
    chiyoda = load_municipalities()["131016"]
    assert validate_application(procedure, chiyoda, _example(),
                                applicant={"kind": "business"}).valid
    refused = validate_application(procedure, chiyoda, _example(), applicant={"kind": "resident"})
    assert [e.message["en"] for e in refused.errors] == ["Businesses only"]


def test_events_and_applicant_are_for_eligibility_only(tmp_path):
    target = _package(tmp_path, RULES)
    raw = json.loads((target / "procedure.json").read_text("utf-8"))
    raw["notices"]["payment_instruction"]["include"] = {"who": "applicant.kind",
                                                        "amount": "computed.nothing"}
    (target / "procedure.json").write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    problems = [str(p) for p in Catalog.load(tmp_path).problems]
    assert ("local-grant/procedure.json#/notices/payment_instruction/include/who: "
            "applicant: 'applicant' is known only to eligibility rules (at filing), "
            "not in a case") in problems
    assert any(p.startswith("local-grant/procedure.json#/notices/payment_instruction/include/"
                            "amount: computed.nothing: nothing is computed as 'nothing'")
               for p in problems)
