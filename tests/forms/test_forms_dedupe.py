import json

from forms.catalog import Catalog
from forms.dedupe import dedupe_material
from forms.pointers import resolve as resolve_pointer


def _definition():
    return Catalog.load().get("disaster-certificate").definition


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
