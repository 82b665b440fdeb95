"""Every format of the shared vocabulary, with valid and invalid examples and the message a
resident reads."""

import pytest

from forms.schemas import COMMON_BASE_URI
from forms.texts import MESSAGE_KEYWORDS, STRUCTURAL_KEYWORDS
from forms.validation import validate_data


def _form(name: str) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"v": {"$ref": COMMON_BASE_URI + name}},
    }


NAME_OK = {"family": "山田", "given": "太郎", "family_kana": "ヤマダ", "given_kana": "タロウ"}
ADDRESS_OK = {
    "postal_code": "1000001",
    "prefecture": "東京都",
    "city": "千代田区",
    "street": "千代田1-1",
}
BANK_OK = {
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "ordinary",
    "account_number": "1234567",
    "holder_kana": "ヤマダ　タロウ",
}

CASES = [
    ("postal-code.schema.json", "1000001", "100-0001", "/v", "郵便番号は7桁の数字で"),
    ("postal-code.schema.json", "1000001", "１０００００１", "/v", "7桁の数字"),
    ("phone.schema.json", "0312345678", "03-1234-5678", "/v", "ハイフンなし"),
    ("phone.schema.json", "09012345678", "9012345678", "/v", "0から始まる"),
    ("email.schema.json", "taro@example.jp", "taro@", "/v", "name@example.jp"),
    ("prefecture.schema.json", "東京都", "東京", "/v", "都道府県を一覧から選んでください"),
    ("municipality-code.schema.json", "131016", "131017", "/v", "6桁の番号"),
    ("corporate-number.schema.json", "7000012050002", "7000012050003", "/v", "13桁の番号"),
    ("individual-number.schema.json", "123456789018", "123456789012", "/v", "12桁の番号"),
    ("date.schema.json", "2026-09-20", "2026-02-30", "/v", "日付（例: 2026-09-20）"),
    ("attachment.schema.json", "att-" + "a" * 26, "../etc/passwd", "/v", "もう一度添付"),
    (
        "person-name.schema.json",
        NAME_OK,
        {**NAME_OK, "family_kana": "やまだ"},
        "/v/family_kana",
        "姓（フリガナ）は全角カタカナで入力してください",
    ),
    (
        "address.schema.json",
        ADDRESS_OK,
        {**ADDRESS_OK, "postal_code": "10000"},
        "/v/postal_code",
        "郵便番号は7桁の数字で入力してください",
    ),
    (
        "address.schema.json",
        ADDRESS_OK,
        {k: v for k, v in ADDRESS_OK.items() if k != "city"},
        "/v/city",
        "市区町村を入力してください",
    ),
    (
        "bank-account.schema.json",
        BANK_OK,
        {**BANK_OK, "bank_code": "001"},
        "/v/bank_code",
        "金融機関コードは4桁の数字で入力してください",
    ),
    (
        "bank-account.schema.json",
        BANK_OK,
        {**BANK_OK, "branch_code": "1"},
        "/v/branch_code",
        "支店コードは3桁の数字で入力してください",
    ),
    (
        "bank-account.schema.json",
        BANK_OK,
        {**BANK_OK, "account_number": "123456"},
        "/v/account_number",
        "口座番号は7桁の数字で入力してください",
    ),
    (
        "bank-account.schema.json",
        BANK_OK,
        {**BANK_OK, "holder_kana": "yamada"},
        "/v/holder_kana",
        "全角カタカナ",
    ),
]


@pytest.mark.parametrize(("schema", "good", "bad", "path", "ja"), CASES)
def test_common_formats_accept_valid_and_explain_invalid(schema, good, bad, path, ja):
    form = _form(schema)
    assert validate_data(form, {"v": good}).valid
    result = validate_data(form, {"v": bad})
    assert not result.valid
    [error] = [e for e in result.errors if e.path == path]
    assert ja in error.message["ja"]
    assert error.message["en"] and "{" not in error.message["en"]


def _keywords(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("x-"):
                continue
            found.add(key)
            if key in {"properties", "$defs", "patternProperties"} and isinstance(value, dict):
                for child in value.values():
                    _keywords(child, found)
            elif key not in {"enum", "const", "examples", "default", "required"}:
                _keywords(value, found)
    elif isinstance(node, list):
        for item in node:
            _keywords(item, found)
    return found


def test_every_keyword_the_catalogue_uses_has_a_message():
    from forms.catalog import DEFAULT_ROOT, Catalog

    catalog = Catalog.load(DEFAULT_ROOT)
    used: set[str] = set()
    for path in (DEFAULT_ROOT.parent / "common").glob("*.schema.json"):
        import json

        _keywords(json.loads(path.read_text("utf-8")), used)
    for procedure in catalog.procedures():
        _keywords(procedure.form_schema, used)
        for schema in procedure.step_schemas.values():
            _keywords(schema, used)
    missing = used - MESSAGE_KEYWORDS - STRUCTURAL_KEYWORDS - {"type", "required", "format"}
    assert missing == set()


@pytest.mark.parametrize(
    ("schema", "value", "code", "ja"),
    [
        ({"type": "array", "maxItems": 2}, [1, 2, 3], "maxItems", "2件まで"),
        ({"type": "array", "minItems": 1}, [], "minItems", "1件以上"),
        ({"type": "array", "uniqueItems": True}, [1, 1], "uniqueItems", "同じもの"),
        ({"type": "integer", "multipleOf": 1000}, 1500, "multipleOf", "1000の倍数"),
        ({"type": "integer", "exclusiveMinimum": 0}, 0, "exclusiveMinimum", "0より大きく"),
        ({"type": "string", "const": "yes"}, "no", "const", "正しくありません"),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, [], "anyOf", "どの選択肢"),
        ({"type": "string", "format": "date-time"}, "tomorrow", "format", "日時"),
    ],
)
def test_keyword_messages_use_the_field_title(schema, value, code, ja):
    form = {
        "type": "object",
        "properties": {"v": {"title": "項目", "x-title-en": "The item", **schema}},
    }
    [error] = validate_data(form, {"v": value}).errors
    assert error.code == code
    assert error.message["ja"].startswith("項目") and ja in error.message["ja"]
    assert "The item" in error.message["en"]


def test_dependent_required_is_reported_at_the_missing_field():
    form = {
        "type": "object",
        "dependentRequired": {"bank": ["branch"]},
        "properties": {
            "bank": {"type": "string", "title": "銀行", "x-title-en": "Bank"},
            "branch": {"type": "string", "title": "支店", "x-title-en": "Branch"},
        },
    }
    [error] = validate_data(form, {"bank": "x"}).errors
    assert (error.path, error.message["ja"]) == ("/branch", "支店を入力してください")
