"""Life events in the catalogue: loading, checking (file#pointer), examples, overlays, and
the shared evaluation (eligibility, prefill, each procedure's form)."""

import copy

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog, UnknownLifeEvent
from forms.dedupe import MissingHousehold
from forms.expressions import Scope, check
from forms.lifeevent_packages import validate_answers
from forms.lifeevents import LifeEventDefinition, OfferedProcedure
from forms.lifeevents_mapping import (
    bundle_material,
    dependency_holds,
    form_provenance,
    is_eligible,
    life_event_bindings,
    map_form,
    prefill_values,
    upstream_case,
)
from forms.validation import validate_data
from tests.support.lifeevents import ANSWERS, DEFINITION, EXAMPLE, write_flood, write_json

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _load(root):
    return Catalog.load(DEFAULT_ROOT, root)


def _problems(catalog, prefix="life-events/", *, contains=""):
    return sorted((p.file, p.pointer) for p in catalog.problems
                  if p.file.startswith(prefix) and contains in p.message)


def test_a_life_event_loads_beside_procedures_and_is_no_procedure_package(tmp_path):
    write_flood(tmp_path)
    catalog = _load(tmp_path)
    assert catalog.problems == []
    event = catalog.life_event("flood")
    assert event.version == "1.0.0"
    assert [p.procedure for p in event.definition.procedures] == [
        "disaster-certificate", "flood-support"]
    assert "life-events" not in {p.id for p in catalog.procedures()}
    assert "flood" in [e.id for e in catalog.life_events()]
    with pytest.raises(UnknownLifeEvent):
        catalog.life_event("moving")


def test_every_mistake_is_reported_with_its_file_and_pointer(tmp_path):
    broken = copy.deepcopy(DEFINITION)
    broken["procedures"][0]["form"]["/no_such_field"] = "data.owner"
    broken["procedures"][0]["eligible"] = "case.status == 'issuing'"  # case: dependents only
    broken["procedures"][1]["eligible"] = "steps.survey.x || data.nope"
    broken["procedures"][1]["after"]["when"] = "case.computed.damage_grade =="  # syntax
    broken["procedures"].append({
        "procedure": "no-such-procedure", "reason": {"ja": "a", "en": "a"},
        "not_eligible": {"ja": "b", "en": "b"}, "form": {}})
    broken["prefill"]["/not_asked"] = {"source": "registry", "value": "household.head"}
    write_flood(tmp_path, definition=broken)
    catalog = _load(tmp_path)
    file = "life-events/flood/life-event.json"
    assert _problems(catalog) == sorted([
        (file, "/prefill/~1not_asked"),
        (file, "/prefill/~1not_asked/value"),
        (file, "/procedures/0/eligible"),
        (file, "/procedures/0/form/~1no_such_field"),
        (file, "/procedures/1/after/when"),
        (file, "/procedures/1/eligible"),
        (file, "/procedures/1/eligible"),
        (file, "/procedures/2/procedure"),
    ])
    messages = {str(p) for p in catalog.problems}
    assert f"{file}#/procedures/2/procedure: no procedure 'no-such-procedure' in the " \
           "catalogue" in "\n".join(messages)
    assert any("'household' has no 'head'" in m for m in messages)
    # A broken life event is not offered at all.
    assert "flood" not in [e.id for e in catalog.life_events()]


def test_a_model_error_and_a_broken_questionnaire_are_located(tmp_path):
    broken = copy.deepcopy(DEFINITION)
    broken["colour"] = "blue"
    write_flood(tmp_path, definition=broken,
                questionnaire={"$schema": "https://json-schema.org/draft/2020-12/schema",
                               "type": "object", "title": "q", "x-title-en": "q",
                               "properties": {"a": {"type": "strng", "title": "a",
                                                    "x-title-en": "a"}}})
    catalog = _load(tmp_path)
    found = _problems(catalog)
    assert ("life-events/flood/life-event.json", "/colour") in found
    assert any(f == "life-events/flood/questionnaire.schema.json" for f, _ in found)


def test_examples_must_be_offered_as_they_say_and_map_into_valid_forms(tmp_path):
    wrong_offer = {**EXAMPLE, "offered": ["disaster-certificate"]}
    tenant = {**EXAMPLE, "answers": {**ANSWERS, "owner": False},
              "offered": ["disaster-certificate"]}
    bad_form = copy.deepcopy(DEFINITION)
    bad_form["procedures"][0]["form"]["/copies"] = "9"  # the certificate allows 1 to 5
    write_flood(tmp_path, definition=bad_form,
                examples={"wrong-offer": wrong_offer, "tenant": tenant})
    catalog = _load(tmp_path)
    lines = [str(p) for p in catalog.problems]
    assert any(line.startswith("life-events/flood/examples/wrong-offer.json#/offered: the "
                               "life event offers ['disaster-certificate', 'flood-support']")
               for line in lines)
    mapped = [line for line in lines if "the form mapped to disaster-certificate" in line]
    assert {line.split(":")[0] for line in mapped} == {
        "life-events/flood/examples/wrong-offer.json", "life-events/flood/examples/tenant.json"}
    assert all("/copies: maximum" in line for line in mapped)


def test_a_dependent_form_is_checked_with_the_examples_upstream_case(tmp_path):
    wrong = copy.deepcopy(DEFINITION)
    wrong["procedures"][1]["form"]["/copies"] = "case.computed.copies"  # not in the report
    write_flood(tmp_path, definition=wrong)
    lines = [str(p) for p in _load(tmp_path).problems]
    assert lines == ["life-events/flood/examples/basic.json: life-event.json#/procedures/1: "
                     "flood-support form /copies: no such field: 'copies'"]


def test_the_example_answers_must_fit_the_questionnaire(tmp_path):
    example = copy.deepcopy(EXAMPLE)
    example["answers"]["household_size"] = 0
    write_flood(tmp_path, examples={"zero": example})
    assert _problems(_load(tmp_path), contains="answers do not validate") == [
        ("life-events/flood/examples/zero.json", "/answers/household_size")]


def _overlay(root, code, body):
    write_json(root / "municipalities" / code / "overlays" / "life-events" / "flood.json", body)


RELIEF = {"procedure": "child-allowance", "eligible": "household.size >= 2",
          "reason": {"ja": "区独自の支援です。", "en": "The ward's own relief."},
          "not_eligible": {"ja": "2人以上の世帯が対象です。", "en": "Households of 2 or more."},
          "selected": False, "form": {}}


def test_an_overlay_adds_the_municipalitys_own_procedure_and_changes_params(tmp_path):
    write_flood(tmp_path)
    _overlay(tmp_path, "131016", {"params": {"min_size": 2}, "add": [RELIEF]})
    catalog = _load(tmp_path)
    assert catalog.problems == []
    local = catalog.life_event("flood", municipality="131016")
    assert local.municipality == "131016"
    assert local.definition.params == {"min_size": 2}
    assert [p.procedure for p in local.definition.procedures] == [
        "disaster-certificate", "flood-support", "child-allowance"]
    standard = catalog.life_event("flood", municipality="141003")
    assert standard.municipality is None and len(standard.definition.procedures) == 2


def test_an_overlay_that_breaks_the_life_event_is_refused_where_it_is_wrong(tmp_path):
    write_flood(tmp_path)
    _overlay(tmp_path, "131016", {"params": {"min_size": "two", "max": 1},
                                  "remove": ["disaster-certificate", "moving"],
                                  "add": [{**RELIEF, "eligible": "household.head"}]})
    catalog = _load(tmp_path)
    label = "municipalities/131016/overlays/life-events/flood.json"
    assert _problems(catalog, "municipalities/") == sorted([
        (label, "/params/min_size"), (label, "/params/max"), (label, "/remove/1")])
    with pytest.raises(UnknownLifeEvent, match="overlay"):
        catalog.life_event("flood", municipality="131016")
    # Removing the certificate the support depends on, or a wrong expression in what is
    # added, is found once the simple mistakes are gone.
    _overlay(tmp_path, "131016", {"remove": ["disaster-certificate"]})
    assert any("depends on 'disaster-certificate'" in p.message for p in
               _load(tmp_path).problems)
    _overlay(tmp_path, "131016", {"add": [{**RELIEF, "eligible": "household.head"}]})
    assert _problems(_load(tmp_path), "municipalities/") == [(label, "/add/0/eligible")]
    _overlay(tmp_path, "999999", {"add": [RELIEF]})
    assert any(p.message == "no municipality 999999 is defined"
               for p in _load(tmp_path).problems)


# ---- the shared evaluation ----------------------------------------------------------


def _bindings(event, household=None, case=None, answers=ANSWERS):
    return life_event_bindings(
        event.definition, answers=answers, applicant={"kind": "resident", "name": "山田 太郎"},
        household=household or {"verified": True, "size": 3, "members": []}, account=None,
        events={}, today="2026-10-01", case=case)


def test_eligibility_prefill_and_forms_are_evaluated_as_defined(tmp_path):
    write_flood(tmp_path)
    catalog = _load(tmp_path)
    event = catalog.life_event("flood")
    certificate, support = event.definition.procedures
    bindings = _bindings(event)
    assert is_eligible(certificate, bindings) and is_eligible(support, bindings)
    assert not is_eligible(support, _bindings(event, answers={**ANSWERS, "owner": False}))
    # A value the expression needs is missing: not offered (never an error).
    assert not is_eligible(support, _bindings(event, household={"verified": False}))
    assert prefill_values(event.definition, bindings) == {
        "/contact_name": ("山田 太郎", "card"), "/household_size": (3, "registry")}
    assert prefill_values(event.definition, bindings, frozenset({"card"})) == {
        "/contact_name": ("山田 太郎", "card")}
    form = map_form(certificate, bindings)
    procedure = catalog.get("disaster-certificate")
    assert validate_data(procedure.form_schema, form, messages=procedure.messages).valid
    assert form["property"]["ownership"] == "owner"

    report = {"status": "issuing", "data": {}, "step_data": {"survey": {}},
              "computed": {"damage_grade": "total"},
              "documents": [{"id": "d1", "type": "certificate", "title": {},
                             "filename": "x.pdf", "sha256": "0"}]}
    case = upstream_case(report)
    assert case["documents"] == ["certificate"] and case["steps"] == {"survey": {}}
    total = _bindings(event, case=case)
    assert dependency_holds(support.after, total)
    assert map_form(support, total)["damage"]["description"] == "grade total"
    half = _bindings(event, case=upstream_case({**report, "computed": {
        "damage_grade": "half"}}))
    assert not dependency_holds(support.after, half)


def test_the_life_event_scope_of_expressions():
    scope = Scope(data={"/owner": "boolean"}, params={"min_size": 1}, life_event=True)
    assert check("data.owner && household.size >= params.min_size && account == null "
                 "&& applicant.gender != '' && size(events) > 0", scope) == []
    assert check("case.status == 'issuing'", scope) == [
        "case: 'case' is known only to a dependent procedure's after.when and form"]
    assert check("case.computed.x", Scope(life_event=True, case=True)) == []
    assert check("case.nope", Scope(life_event=True, case=True)) == [
        "case.nope: 'case' has no 'nope' (it has: computed, data, documents, status, steps)"]
    assert check("computed.x", scope)[0].startswith("unknown name 'computed'")
    # A procedure's expressions still do not know the life event's names.
    assert check("household.size", Scope())[0].startswith("unknown name 'household'")


def test_the_form_records_where_each_copied_value_came_from(tmp_path):
    write_flood(tmp_path)
    certificate, support = _load(tmp_path).life_event("flood").definition.procedures
    answers = {"/applicant/name": "card", "/applicant/address": "declared",
               "/household_size": "unverified", "/owner": "declared"}
    assert form_provenance(certificate, answers, household_verified=True) == {
        "/applicant/name": "card", "/applicant/address": "declared",
        "/property/address": "declared"}
    offered = OfferedProcedure.model_validate({
        **DEFINITION["procedures"][1], "form": {"/size": "household.size",
                                                "/who": "applicant.name",
                                                "/bank": "account", "/n": "data.household_size",
                                                "/grade": "case.computed.damage_grade"}})
    assert form_provenance(offered, answers, household_verified=False) == {
        "/size": "unverified", "/who": "card", "/bank": "account", "/n": "unverified"}
    assert form_provenance(support, {}, household_verified=True) == {}


def test_one_bundle_per_household_and_event_whoever_files():
    definition = LifeEventDefinition.model_validate(DEFINITION)
    common = dict(applicant_key="k1", address="東京都千代田区永田町一丁目7番1号")
    taro = bundle_material(definition, "131016", ANSWERS, household_id="H-1", **common)
    hanako = bundle_material(definition, "131016", ANSWERS, household_id="H-1",
                             applicant_key="k2", address=None)
    assert taro == hanako
    other_event = bundle_material(definition, "131016", {**ANSWERS, "disaster_event": "x"},
                                  household_id="H-1", **common)
    assert other_event != taro
    by_address = bundle_material(definition, "131016", ANSWERS, household_id=None, **common)
    assert by_address != taro and "永田町" in by_address
    with pytest.raises(MissingHousehold):
        bundle_material(definition, "131016", ANSWERS, household_id=None, applicant_key="k",
                        address=None)


def test_answers_are_checked_against_the_questionnaire_and_the_municipalitys_events(tmp_path):
    write_flood(tmp_path)
    catalog = _load(tmp_path)
    event = catalog.life_event("flood")
    tokyo = catalog.municipalities["131016"]
    assert validate_answers(event, tokyo, ANSWERS).valid
    unknown = validate_answers(event, tokyo, {**ANSWERS, "disaster_event": "2030-quake"})
    assert [(e.path, e.code) for e in unknown.errors] == [
        ("/disaster_event", "unknown_disaster_event")]
    missing = validate_answers(event, tokyo, {k: v for k, v in ANSWERS.items() if k != "owner"})
    assert [e.path for e in missing.errors] == ["/owner"]


def test_ledger_columns_are_checked_like_every_expression(tmp_path):
    ledger = {"address": "data.applicant.address.city + data.applicant.address.street",
              "household_size": "data.household_size",
              "grade": {"procedure": "disaster-certificate",
                        "value": "case.computed.damage_grade"},
              "amounts": [{"procedure": "flood-support", "value": "case.computed.nope.x"},
                          {"procedure": "flood-support", "value": "case.amount"}]}
    write_flood(tmp_path, definition={**DEFINITION, "ledger": ledger})
    assert _problems(_load(tmp_path)) == [
        ("life-events/flood/life-event.json", "/ledger/amounts/1/value")]
    write_flood(tmp_path, definition={**DEFINITION, "ledger": {
        **ledger, "amounts": [], "grade": {"procedure": "moving", "value": "1"}}})
    assert any("the ledger reads 'moving'" in p.message for p in _load(tmp_path).problems)
