"""Input limits (#15): sizes before items, nesting depth, capped errors, unsafe text."""

from __future__ import annotations

import json
import time

import pytest

from forms.catalog import Catalog
from forms.filing import validate_application, validate_draft
from forms.limits import MAX_DEPTH
from forms.municipalities import load_municipalities
from forms.validation import MAX_ERRORS, validate_data


@pytest.fixture(scope="module")
def procedure():
    return Catalog.load().get("disaster-certificate")


@pytest.fixture(scope="module")
def chiyoda():
    return load_municipalities()["131016"]


@pytest.fixture
def data(procedure):
    path = procedure.directory / "examples" / "valid-basic.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _depth(value: list) -> int:
    depth = 1
    while value:
        value, depth = value[0], depth + 1
    return depth


def _body(result) -> bytes:
    return json.dumps([e.model_dump() for e in result.errors], ensure_ascii=False).encode()


def test_too_many_items_are_refused_without_validating_each(procedure, chiyoda, data):
    # One resident's 100,000 "photos" took 15.8 s and answered a 16 MB error body.
    data["photos"] = [f"photo-{i}" for i in range(100_000)]
    started = time.perf_counter()
    result = validate_application(procedure, chiyoda, data)
    elapsed = time.perf_counter() - started

    assert not result.valid
    [error] = result.errors
    assert (error.path, error.code) == ("/photos", "maxItems")
    assert error.message == {
        "ja": "被害の写真は3件までにしてください",
        "en": "Photos of the damage can have at most 3 entries",
    }
    assert len(_body(result)) < 2_000
    assert elapsed < 2.0, f"{elapsed:.2f} s"


def test_items_within_the_limit_are_still_validated(procedure, chiyoda, data):
    data["photos"] = ["photo-1"]
    result = validate_application(procedure, chiyoda, data)
    assert [(e.path, e.code) for e in result.errors] == [("/photos/0", "pattern")]


def test_returned_errors_are_capped_with_a_count_of_the_rest(procedure, data):
    data["damage"].update({f"extra_{i:03}": i for i in range(120)})
    result = validate_data(procedure.form_schema, data, messages=procedure.messages)

    assert not result.valid
    assert len(result.errors) == MAX_ERRORS + 1
    assert all(e.code == "additionalProperties" for e in result.errors[:MAX_ERRORS])
    more = result.errors[-1]
    assert (more.path, more.code) == ("", "more_errors")
    assert result.omitted == 120 - MAX_ERRORS
    assert more.message == {"ja": "ほかに70件の誤りがあります", "en": "and 70 more problems"}


def test_too_long_text_is_refused_before_its_pattern(procedure, data):
    data["applicant"]["phone"] = "0" * 1_000_000
    result = validate_data(procedure.form_schema, data, messages=procedure.messages)
    assert [(e.path, e.code) for e in result.errors] == [("/applicant/phone", "maxLength")]


def test_too_many_members_are_refused(procedure, data):
    data["applicant"] = {f"k{i}": "" for i in range(5_000)}
    result = validate_data(procedure.form_schema, data, messages=procedure.messages)
    assert [(e.path, e.code) for e in result.errors] == [("/applicant", "maxProperties")]


def test_deep_data_never_raises_and_is_refused(procedure, chiyoda, data):
    # Two items nested 900 deep made uniqueItems recurse until RecursionError: every
    # GET /api/drafts of that resident answered 500.
    data["photos"] = [_nested(900), _nested(900)]

    draft = validate_draft(procedure, data)
    assert not draft.valid
    assert [(e.code, e.path.count("/")) for e in draft.errors] == [
        ("maxDepth", MAX_DEPTH),
        ("maxDepth", MAX_DEPTH),
    ]
    assert draft.errors[0].message == {
        "ja": "添付ファイルの入れ子が深すぎます（32段まで）",
        "en": "Attached file is nested too deeply (at most 32 levels)",
    }

    filed = validate_application(procedure, chiyoda, data)
    assert not filed.valid
    assert "maxDepth" in {e.code for e in filed.errors}


def test_data_just_within_the_depth_limit_is_validated(procedure, data):
    # The document is level 1, "photos" level 2: its item may nest 30 more levels.
    data["photos"] = [_nested(MAX_DEPTH - 2)]
    result = validate_data(procedure.form_schema, data, messages=procedure.messages)
    assert [(e.path, e.code) for e in result.errors] == [("/photos/0", "type")]
    data["photos"] = [_nested(MAX_DEPTH - 1)]
    result = validate_data(procedure.form_schema, data, messages=procedure.messages)
    assert [e.code for e in result.errors] == ["type", "maxDepth"]


def test_a_draft_with_ordinary_problems_stays_valid(procedure, data):
    data["photos"] = ["photo-1"]
    result = validate_draft(procedure, data)
    assert result.valid
    assert [(e.path, e.code) for e in result.warnings] == [("/photos/0", "pattern")]


@pytest.mark.parametrize(
    "text",
    [
        "山田\ud800",  # a lone surrogate: 500 when encoded
        "山\u202e田",  # RIGHT-TO-LEFT OVERRIDE: reversed text in the sealed PDF
        "\u202a山田",
        "山田\u2066",
        "山\u2069田",
        "\u200e山田",
        "山田\u200f",
        "山\u061c田",
    ],
)
def test_unsafe_characters_are_refused_with_the_field_title(procedure, chiyoda, data, text):
    data["applicant"]["name"]["family"] = text
    result = validate_application(procedure, chiyoda, data)
    assert not result.valid
    [error] = [e for e in result.errors if e.code == "forbidden_character"]
    assert error.path == "/applicant/name/family"
    assert error.message["ja"] == (
        "姓に使えない文字（文字の向きを変える制御文字など）が含まれています"
    )
    assert error.message["en"].startswith("Family name contains a character that cannot be")


def test_unsafe_characters_in_member_names_and_deep_strings_are_refused(procedure, data):
    data["damage"]["description"] = "屋根が\u202e壊れた"
    data["damage"]["\u202eevil"] = "x"
    result = validate_data(procedure.form_schema, data, messages=procedure.messages)
    found = {(e.path, e.code) for e in result.errors}
    assert ("/damage/description", "forbidden_character") in found
    assert ("/damage/\u202eevil", "forbidden_character") in found


def test_ordinary_japanese_text_passes(procedure, chiyoda, data):
    data["applicant"]["name"]["family"] = "髙橋"  # a variant kanji, not a control
    data["damage"]["description"] = "ｱﾊﾟｰﾄの１階が浸水した（約30cm）。"
    assert validate_application(procedure, chiyoda, data).errors == []


def test_what_walks_or_copies_data_is_depth_safe(procedure):
    from forms.masking import drop_secrets, mask_secrets
    from forms.schemaform import SchemaForm

    deep = {"applicant": {"name": {"family": "山田"}}, "extra": _nested(5_000)}
    assert _depth(mask_secrets(deep, procedure.form_schema)["extra"]) == 5_000
    assert drop_secrets(deep, procedure.form_schema)["applicant"] == deep["applicant"]
    form = SchemaForm(procedure.form_schema, messages=procedure.messages)
    page = form.pages({})[0]
    assert _depth(form.read(page.fields, {}, deep)["extra"]) == 5_000
    result = validate_data(procedure.form_schema, deep, messages=procedure.messages)
    assert "maxDepth" in {e.code for e in result.errors}


def test_too_many_attachments_are_not_looked_up_one_by_one(procedure, chiyoda, data):
    import copy
    import dataclasses

    schema = copy.deepcopy(procedure.form_schema)
    del schema["properties"]["photos"]["maxItems"]  # only x-attachment's max_count left
    lenient = dataclasses.replace(procedure, form_schema=schema)
    looked_up: list[str] = []

    class Lookup:
        def get(self, attachment_id: str):
            looked_up.append(attachment_id)

    data["photos"] = [f"att-{i:026d}".replace("0", "a").replace("1", "b") for i in range(500)]
    result = validate_application(lenient, chiyoda, data, attachments=Lookup(), owner="me")
    assert looked_up == []
    assert ("/photos", "attachment_count") in {(e.path, e.code) for e in result.errors}
