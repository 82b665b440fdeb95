"""Municipality overlays: what a municipality may change, and what the loader refuses."""

import json
import shutil
from pathlib import Path

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog, UnknownProcedure
from forms.filing import validate_application
from forms.municipalities import load_municipalities
from forms.overlay import merge_patch

PACKAGE = DEFAULT_ROOT / "disaster-certificate"
OVERLAY_FILE = "municipalities/131016/overlays/disaster-certificate.json"


def _root(tmp_path: Path, overlay: dict | None = None, code: str = "131016") -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(PACKAGE, root / "disaster-certificate")
    # The municipalities without their packaged overlays (of procedures not copied here).
    shutil.copytree(DEFAULT_ROOT / "municipalities", root / "municipalities",
                    ignore=shutil.ignore_patterns("overlays"))
    if overlay is not None:
        folder = root / "municipalities" / code / "overlays"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "disaster-certificate.json").write_text(
            json.dumps(overlay, ensure_ascii=False), encoding="utf-8"
        )
    return root


PET = {"title": "ペットの有無", "x-title-en": "Pets in the household", "type": "boolean"}


def test_merge_patch_follows_rfc7396():
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "l": [3], "n": {"x": None}}
    assert merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "l": [3], "n": {}}
    assert target["c"] == {"d": "e", "f": "g"}  # not modified


def test_accepted_overlay_adds_a_field_and_changes_deadlines_texts_and_contact(tmp_path):
    overlay = {
        "procedure": {
            "processing_period": {"days": 14},
            "correction": {"deadline_days": 10},
            "title": {
                "ja": "罹災証明書の交付申請（千代田区）",
                "en": "Disaster certificate (Chiyoda)",
            },
        },
        "form": {
            "properties": {"pets": PET, "copies": {"maximum": 3}},
            "required": ["disaster_event", "applicant", "property", "damage", "pets"],
        },
        "messages": {"ja": {"notice.submitted.title": "千代田区が申請を受け取りました"}},
        "contact": {
            "department": {"ja": "千代田区 防災課", "en": "Chiyoda Disaster Prevention"},
            "phone": "0332641234",
        },
    }
    catalog = Catalog.load(_root(tmp_path, overlay))
    assert catalog.problems == []
    standard = catalog.get("disaster-certificate")
    local = catalog.get("disaster-certificate", municipality="131016")
    assert local.municipality == "131016" and local.version == standard.version
    assert local.definition.processing_period.days == 14
    assert local.definition.correction.deadline_days == 10
    assert local.definition.title.ja.endswith("（千代田区）")
    assert "pets" in local.form_schema["properties"]
    assert local.message("notice.submitted.title", "ja") == "千代田区が申請を受け取りました"
    assert local.message("notice.submitted.title", "en") == standard.message(
        "notice.submitted.title", "en"
    )
    assert local.contact is not None and local.contact.phone == "0332641234"
    # The standard and other municipalities are untouched.
    assert standard.definition.processing_period.days == 30
    assert "pets" not in standard.form_schema["properties"]
    assert catalog.get("disaster-certificate", municipality="141003") is standard
    # The added field is enforced for Chiyoda only.
    data = json.loads((PACKAGE / "examples" / "valid-basic.json").read_text(encoding="utf-8"))
    chiyoda = load_municipalities()["131016"]
    result = validate_application(local, chiyoda, data)
    assert [(e.path, e.code) for e in result.errors] == [("/pets", "required")]
    assert result.errors[0].message["ja"] == "ペットの有無を入力してください"
    assert validate_application(local, chiyoda, {**data, "pets": False}).valid
    assert validate_application(local, chiyoda, {**data, "pets": False, "copies": 5}).paths() == {
        "/copies"
    }


@pytest.mark.parametrize(
    ("overlay", "pointer", "words"),
    [
        (
            {"form": {"properties": {"applicant": {"properties": {"phone": None}}}}},
            "/form/properties/applicant/properties/phone",
            "cannot be removed",
        ),
        (
            {"form": {"properties": {"applicant": {"required": ["name", "address"]}}}},
            "/form/properties/applicant/required",
            "must stay required",
        ),
        (
            {"form": {"properties": {"damage": None}}},
            "/form/properties/damage",
            "cannot be removed",
        ),
        (
            {"form": {"properties": {"copies": {"type": "string"}}}},
            "/form/properties/copies/type",
            "cannot change",
        ),
        (
            {
                "form": {
                    "properties": {
                        "applicant": {
                            "properties": {
                                "name": {
                                    "$ref": "https://madoguchi.example/schemas/common/phone.schema.json"
                                }
                            }
                        }
                    }
                }
            },
            "/form/properties/applicant/properties/name",
            "cannot change",
        ),
        ({"procedure": {"stages": []}}, "/procedure/stages", "cannot change 'stages'"),
        (
            {"procedure": {"processing_period": {"days": 0}}},
            "/procedure/processing_period/days",
            "greater than 0",
        ),
        (
            {"form": {"properties": {"pets": {"type": "boolean"}}}},
            "/form/properties/pets",
            "no 'title'",
        ),
        (
            {"messages": {"ja": {"notice.issued.body": None}}},
            "/messages/ja/notice.issued.body",
            "cannot be removed",
        ),
        ({"colour": "blue"}, "/colour", "unknown key"),
    ],
)
def test_refused_overlays_name_file_pointer_and_reason(tmp_path, overlay, pointer, words):
    catalog = Catalog.load(_root(tmp_path, overlay))
    found = [p for p in catalog.problems if p.file == OVERLAY_FILE]
    assert found, catalog.problems
    assert any(p.pointer == pointer and words in p.message for p in found), found
    # Refused for Chiyoda (never silently the standard), while everyone else is served.
    with pytest.raises(UnknownProcedure, match="overlay"):
        catalog.get("disaster-certificate", municipality="131016")
    assert catalog.get("disaster-certificate", municipality="141003").municipality is None
    assert catalog.procedures("131016") == []


def test_every_problem_of_an_overlay_at_once(tmp_path):
    overlay = {
        "procedure": {"stages": []},
        "form": {"properties": {"copies": {"type": "string"}, "damage": None}},
    }
    catalog = Catalog.load(_root(tmp_path, overlay))
    pointers = {p.pointer for p in catalog.problems if p.file == OVERLAY_FILE}
    assert {
        "/procedure/stages",
        "/form/properties/copies/type",
        "/form/properties/damage",
    } <= pointers


def test_overlay_applies_only_to_the_versions_it_names(tmp_path):
    root = _root(
        tmp_path, {"versions": ["1.0.0"], "procedure": {"processing_period": {"days": 10}}}
    )
    newer = root / "disaster-certificate@9.0.0"
    shutil.copytree(root / "disaster-certificate", newer)
    for folder, version in ((root / "disaster-certificate", "1.0.0"), (newer, "9.0.0")):
        raw = json.loads((folder / "procedure.json").read_text(encoding="utf-8"))
        (folder / "procedure.json").write_text(
            json.dumps({**raw, "version": version}), encoding="utf-8"
        )
    catalog = Catalog.load(root)
    assert catalog.problems == []
    old = catalog.get("disaster-certificate", "1.0.0", "131016")
    assert old.definition.processing_period.days == 10
    assert catalog.get("disaster-certificate", municipality="131016").version == "9.0.0"
    assert catalog.get("disaster-certificate", municipality="131016").municipality is None


def test_overlay_for_unknown_municipality_or_procedure_is_a_problem(tmp_path):
    root = _root(tmp_path, {"procedure": {}}, code="999999")
    (root / "municipalities" / "131016" / "overlays").mkdir(parents=True)
    (root / "municipalities" / "131016" / "overlays" / "moving.json").write_text("{}")
    messages = {p.file: p.message for p in Catalog.load(root).problems}
    assert (
        "no municipality 999999"
        in messages["municipalities/999999/overlays/disaster-certificate.json"]
    )
    assert (
        "no standard procedure 'moving'" in messages["municipalities/131016/overlays/moving.json"]
    )


def test_municipality_maintains_its_disaster_events_in_its_own_folder(tmp_path):
    custom = tmp_path / "custom"
    folder = custom / "municipalities" / "131016"
    folder.mkdir(parents=True)
    events = {
        "disaster_events": [
            {
                "id": "2027-quake",
                "date": "2027-01-10",
                "area": "丸の内",
                "name": {"ja": "令和9年地震", "en": "2027 earthquake"},
            }
        ]
    }
    (folder / "disaster-events.json").write_text(json.dumps(events, ensure_ascii=False))
    catalog = Catalog.load(DEFAULT_ROOT, custom)
    chiyoda = catalog.municipalities["131016"]
    assert [e.id for e in chiyoda.disaster_events] == ["2027-quake"]
    assert chiyoda.name.ja == "千代田区"  # municipality.json still the packaged default
    assert load_municipalities(roots=[DEFAULT_ROOT, custom])["131016"] == chiyoda
    assert len(load_municipalities()["131016"].disaster_events) == 2

    events["disaster_events"][0]["date"] = "someday"
    (folder / "disaster-events.json").write_text(json.dumps(events, ensure_ascii=False))
    catalog.reload()
    [problem] = catalog.problems
    assert problem.file == "municipalities/131016/disaster-events.json"
    assert problem.pointer == "/disaster_events/0/date"
    with pytest.raises(ValueError, match=r"disaster-events\.json#/disaster_events/0/date"):
        load_municipalities(roots=[DEFAULT_ROOT, custom])
