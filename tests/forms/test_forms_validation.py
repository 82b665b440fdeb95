import copy
import json

import pytest

from forms.catalog import Catalog
from forms.filing import validate_application
from forms.municipalities import load_municipalities
from forms.schemas import common_registry, format_checker
from forms.validation import validate_data


@pytest.fixture(scope="module")
def procedure():
    return Catalog.load().get("disaster-certificate")


@pytest.fixture(scope="module")
def municipalities():
    return load_municipalities()


def _example(procedure, name):
    path = procedure.directory / "examples" / name
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["valid-basic.json", "valid-tenant.json"])
def test_examples_are_valid_applications_in_chiyoda(procedure, municipalities, name):
    result = validate_application(procedure, municipalities["131016"], _example(procedure, name))
    assert result.errors == []
    assert result.valid


def test_basic_example_is_yamada_taro_in_chiyoda(procedure):
    data = _example(procedure, "valid-basic.json")
    assert data["applicant"]["name"]["family"] == "山田"
    assert data["applicant"]["name"]["given"] == "太郎"
    assert data["applicant"]["address"]["city"] == "千代田区"
    assert data["disaster_event"] == "2026-typhoon-15"
    assert _example(procedure, "valid-tenant.json")["property"]["ownership"] == "tenant"


def test_all_errors_are_reported_at_once_with_titles(procedure):
    data = _example(procedure, "valid-basic.json")
    data["applicant"]["address"]["postal_code"] = "100-0014"
    data["applicant"]["phone"] = "03-1234-5678"
    data["applicant"]["email"] = "taro at example"
    del data["applicant"]["name"]["given_kana"]
    data["applicant"]["name"]["family_kana"] = "やまだ"
    data["property"]["kind"] = "castle"
    data["damage"]["date"] = "2026-02-30"
    data["damage"]["description"] = "あ" * 2001
    data["copies"] = 6
    del data["disaster_event"]
    data["note"] = "?"

    result = validate_data(procedure.form_schema, data, messages=procedure.messages)

    assert not result.valid
    by_path = {(e.path, e.code): e.message for e in result.errors}
    assert set(by_path) == {
        ("/applicant/address/postal_code", "pattern"),
        ("/applicant/phone", "pattern"),
        ("/applicant/email", "format"),
        ("/applicant/name/given_kana", "required"),
        ("/applicant/name/family_kana", "pattern"),
        ("/property/kind", "enum"),
        ("/damage/date", "format"),
        ("/damage/description", "maxLength"),
        ("/copies", "maximum"),
        ("/disaster_event", "required"),
        ("/note", "additionalProperties"),
    }
    assert by_path[("/applicant/address/postal_code", "pattern")] == {
        "ja": "郵便番号は7桁の数字で入力してください",
        "en": "Postal code must be 7 digits",
    }
    assert by_path[("/applicant/name/given_kana", "required")] == {
        "ja": "名（フリガナ）を入力してください",
        "en": "Given name (katakana) is required",
    }
    assert by_path[("/disaster_event", "required")] == {
        "ja": "災害を入力してください",
        "en": "Disaster is required",
    }
    assert by_path[("/damage/description", "maxLength")]["ja"] == (
        "被害の内容は2000文字以内で入力してください"
    )
    assert by_path[("/copies", "maximum")]["en"] == "Number of copies must be at most 5"
    assert "カタカナ" in by_path[("/applicant/name/family_kana", "pattern")]["ja"]
    assert by_path[("/damage/date", "format")]["en"].startswith("Date of damage")
    for message in by_path.values():
        assert message["ja"] and message["en"]
    assert [e.path for e in result.errors] == sorted(e.path for e in result.errors)


def test_a_title_set_where_a_shared_schema_is_used_wins(procedure):
    data = _example(procedure, "valid-basic.json")
    del data["property"]["address"]
    result = validate_data(procedure.form_schema, data, messages=procedure.messages)
    [error] = result.errors
    assert error.path == "/property/address"
    assert error.message == {
        "ja": "建物の所在地を入力してください",
        "en": "Property address is required",
    }


def test_messages_can_rename_a_field_by_pointer(procedure):
    data = _example(procedure, "valid-basic.json")
    data["property"]["address"]["postal_code"] = "1"
    messages = copy.deepcopy(procedure.messages)
    messages["ja"]["field./property/address/postal_code"] = "建物の郵便番号"
    messages["en"]["field./property/address/postal_code"] = "Postal code of the property"
    [error] = validate_data(procedure.form_schema, data, messages=messages).errors
    assert error.message == {
        "ja": "建物の郵便番号は7桁の数字で入力してください",
        "en": "Postal code of the property must be 7 digits",
    }


def test_full_width_digits_do_not_pass_digit_patterns(procedure):
    data = _example(procedure, "valid-basic.json")
    data["applicant"]["address"]["postal_code"] = "１００００１４"
    data["applicant"]["phone"] = "０３１２３４５６７８"
    result = validate_data(procedure.form_schema, data)
    assert {e.path for e in result.errors} == {"/applicant/address/postal_code", "/applicant/phone"}


def test_root_that_is_not_an_object(procedure):
    result = validate_data(procedure.form_schema, ["not", "an", "object"])
    [error] = result.errors
    assert (error.path, error.code) == ("", "type")
    assert error.message["ja"].startswith("申請内容")


def test_copies_defaults_are_optional_and_bounded(procedure):
    data = _example(procedure, "valid-basic.json")
    del data["copies"]
    assert validate_data(procedure.form_schema, data).valid
    data["copies"] = 0
    [error] = validate_data(procedure.form_schema, data).errors
    assert (error.path, error.code) == ("/copies", "minimum")
    data["copies"] = 1.5
    [error] = validate_data(procedure.form_schema, data).errors
    assert (error.path, error.code) == ("/copies", "type")


def test_event_must_be_declared_by_the_municipality(procedure, municipalities):
    data = _example(procedure, "valid-tenant.json")  # 2026-heavy-rain-07
    result = validate_application(procedure, municipalities["141003"], data)
    [error] = result.errors
    assert error.path == "/disaster_event"
    assert error.code == "unknown_disaster_event"
    assert error.message["ja"].startswith("災害は")
    assert "Disaster" in error.message["en"]
    assert validate_application(procedure, municipalities["131016"], data).valid


def test_cross_check_is_skipped_where_the_schema_already_failed(procedure, municipalities):
    data = _example(procedure, "valid-basic.json")
    data["disaster_event"] = ""
    result = validate_application(procedure, municipalities["131016"], data)
    assert [(e.path, e.code) for e in result.errors] == [("/disaster_event", "minLength")]


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("municipality-code", "131016", "131017"),
        ("corporate-number", "7000012050002", "7000012050003"),
        ("individual-number", "123456789018", "123456789019"),
        ("email", "taro.yamada@example.jp", "taro@example"),
        ("date", "2026-09-20", "2026-9-20"),
    ],
)
def test_formats(fmt, good, bad):
    checker = format_checker()
    assert checker.conforms(good, fmt)
    assert not checker.conforms(bad, fmt)


def test_common_identifier_schemas_use_the_check_digits():
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "code": {
                "$ref": "https://madoguchi.example/schemas/common/municipality-code.schema.json"
            },
            "corp": {
                "$ref": "https://madoguchi.example/schemas/common/corporate-number.schema.json"
            },
            "bank": {"$ref": "https://madoguchi.example/schemas/common/bank-account.schema.json"},
        },
    }
    good = {
        "code": "141003",
        "corp": "7000012050002",
        "bank": {
            "bank_code": "0001",
            "branch_code": "001",
            "account_type": "ordinary",
            "account_number": "1234567",
            "holder_kana": "ヤマダ　タロウ",
        },
    }
    assert validate_data(schema, good).valid
    bad = {
        **good,
        "code": "141004",
        "corp": "7000012050003",
        "bank": {**good["bank"], "bank_code": "1"},
    }
    result = validate_data(schema, bad)
    assert {(e.path, e.code) for e in result.errors} == {
        ("/code", "format"),
        ("/corp", "format"),
        ("/bank/bank_code", "pattern"),
    }
    code_error = next(e for e in result.errors if e.path == "/code")
    assert code_error.message["ja"].startswith("地方公共団体コード")


def test_unregistered_schemas_are_never_fetched():
    from referencing.exceptions import Unresolvable

    schema = {"$ref": "https://madoguchi.example/schemas/common/nope.schema.json"}
    with pytest.raises(Unresolvable):
        validate_data(schema, {})
    assert all(
        uri.startswith("https://madoguchi.example/schemas/common/") for uri in common_registry()
    )
