import json

import pytest

from forms.catalog import Catalog
from forms.dedupe import DedupeParty, MissingHousehold, dedupe_material, normalized
from forms.definition import DedupeRule
from forms.pointers import resolve as resolve_pointer


def _definition():
    """A version whose rule is the default scope (applicant): the material of the cases
    filed before scopes existed, which must not change."""
    return Catalog.load().get("disaster-certificate", version="1.3.0").definition


def _with(rule: dict):
    return _definition().model_copy(update={"dedupe": DedupeRule.model_validate(rule)})


def _data():
    return {
        "disaster_event": "2026-typhoon-15",
        "applicant": {"phone": "0312345678", "name": {"family": "山田", "given": "太郎"}},
        "copies": 1,
    }


def test_material_is_canonical_json_of_the_rule():
    material = dedupe_material(_definition(), "131016", "subject-1", _data())
    assert " " not in material
    assert json.loads(material) == {
        "procedure": "disaster-certificate",
        "municipality": "131016",
        "applicant": "subject-1",
        "fields": {"/disaster_event": "2026-typhoon-15"},
    }


def test_material_does_not_depend_on_key_order():
    data = _data()
    reordered = json.loads(json.dumps(dict(reversed(list(data.items())))))
    reordered["applicant"] = dict(reversed(list(reordered["applicant"].items())))
    assert list(reordered) != list(data)
    definition = _definition()
    assert dedupe_material(definition, "131016", "s", data) == dedupe_material(
        definition, "131016", "s", reordered
    )


def test_material_differs_for_other_event_municipality_or_applicant():
    definition = _definition()
    base = dedupe_material(definition, "131016", "s", _data())
    other_event = {**_data(), "disaster_event": "2026-heavy-rain-07"}
    assert dedupe_material(definition, "131016", "s", other_event) != base
    assert dedupe_material(definition, "141003", "s", _data()) != base
    assert dedupe_material(definition, "131016", "t", _data()) != base


def test_fields_outside_the_rule_do_not_matter_and_missing_is_null():
    definition = _definition()
    more_copies = {**_data(), "copies": 3}
    assert dedupe_material(definition, "131016", "s", more_copies) == dedupe_material(
        definition, "131016", "s", _data()
    )
    material = json.loads(dedupe_material(definition, "131016", "s", {}))
    assert material["fields"] == {"/disaster_event": None}


def test_resolve_pointer_follows_rfc6901():
    data = {"a/b": {"~k": [10, 20]}}
    assert resolve_pointer(data, "/a~1b/~0k/1") == 20
    assert resolve_pointer(data, "") is data


ADDRESS = {"postal_code": "1000001", "prefecture": "東京都", "city": "千代田区",
           "street": "千代田１－１－１０１"}


def test_the_certificate_is_one_per_person_and_disaster_whoever_files_it():
    """#17, item 5: a son who filed for his mother may file for himself."""
    definition = Catalog.load().get("disaster-certificate").definition  # 1.4.0
    assert definition.dedupe.scope == "subject"
    mother = {"name": "山田 トメ", "name_kana": "ヤマダ トメ", "birthdate": "1940-02-03"}
    data = {"disaster_event": "2026-typhoon-15"}
    for_mother = dedupe_material(definition, "131016", DedupeParty(
        applicant_key="son", represented=mother), data)
    for_himself = dedupe_material(definition, "131016", DedupeParty(
        applicant_key="son", reading="ヤマダ タロウ", birthdate="1970-05-06"), data)
    herself = dedupe_material(definition, "131016", DedupeParty(
        applicant_key="mother", reading="ヤマダトメ", birthdate="1940-02-03"), data)
    assert for_mother != for_himself
    assert for_mother == herself


def test_municipality_scope_is_one_per_property_whoever_files_and_normalizes():
    definition = _with({"scope": "municipality", "normalize": True,
                        "fields": ["/disaster_event", "/property/address"]})
    data = {"disaster_event": "2026-typhoon-15", "property": {"address": ADDRESS}}
    mother = dedupe_material(definition, "131016", "mother", data)
    son = dedupe_material(definition, "131016", "son", data)
    assert mother == son  # a second filing for the same home, by anyone
    half_width = {**data, "property": {"address": {**ADDRESS, "street": "千代田1-1-101 "}}}
    assert dedupe_material(definition, "131016", "son", half_width) == mother
    his_home = {**data, "property": {"address": {**ADDRESS, "street": "千代田2-2"}}}
    assert dedupe_material(definition, "131016", "son", his_home) != mother
    assert "mother" not in mother


def test_household_scope_reads_the_verified_address_not_the_applicant():
    definition = _with({"scope": "household"})
    wife = DedupeParty(applicant_key="wife", address="東京都千代田区千代田1-1")
    husband = DedupeParty(applicant_key="husband", address="東京都千代田区千代田１－１")
    neighbour = DedupeParty(applicant_key="n", address="東京都千代田区千代田1-2")
    assert dedupe_material(definition, "131016", wife, {}) == dedupe_material(
        definition, "131016", husband, {})
    assert dedupe_material(definition, "131016", neighbour, {}) != dedupe_material(
        definition, "131016", wife, {})
    with pytest.raises(MissingHousehold):
        dedupe_material(definition, "131016", DedupeParty(applicant_key="x"), {})


def test_subject_scope_is_the_person_the_application_is_about():
    definition = _with({"scope": "subject"})
    mother_herself = DedupeParty(applicant_key="mother", reading="ヤマダ トメ",
                                 birthdate="1940-02-03")
    son_for_mother = DedupeParty(applicant_key="son", represented={
        "name": "山田 トメ", "name_kana": "ヤマダトメ", "birthdate": "1940-02-03"})
    son_himself = DedupeParty(applicant_key="son", reading="ヤマダ タロウ",
                              birthdate="1970-05-06")
    key = dedupe_material(definition, "131016", mother_herself, {})
    assert dedupe_material(definition, "131016", son_for_mother, {}) == key
    assert dedupe_material(definition, "131016", son_himself, {}) != key
    # Without a verified reading and birth date the subject is the applicant.
    assert "anon" in dedupe_material(definition, "131016", DedupeParty(applicant_key="anon"), {})


def test_normalized_compares_as_a_person_would():
    assert normalized("Ｃｈｉｙｏｄａ　１－１") == normalized("chiyoda 1-1")
    assert normalized({"a": ["ＡＢ"]}) == {"a": ["ab"]}


def test_a_municipality_scope_without_fields_is_refused():
    with pytest.raises(ValueError, match="needs 'fields'"):
        DedupeRule.model_validate({"scope": "municipality"})
