"""Masking the 個人番号 and other secrets for views and logs."""

from __future__ import annotations

import copy
import io
import json
import logging

from forms.catalog import Catalog
from forms.masking import (
    MASK,
    RedactingFilter,
    drop_secrets,
    mask_secrets,
    scrub,
    secret_pointers,
)

NUMBER = "123456789018"  # a valid check digit (forms.checkdigits' example)
REF = "https://madoguchi.example/schemas/common/individual-number.schema.json"

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "applicant": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "individual_number": {"$ref": REF, "title": "申請者の個人番号"},
            },
        },
        "children": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "my_number": {"$ref": REF}},
            },
        },
        "portal_password": {"type": "string", "writeOnly": True},
        "note": {"type": "string"},
    },
}

DATA = {
    "applicant": {"name": "山田 花子", "individual_number": NUMBER},
    "children": [{"name": "山田 一郎", "my_number": "987654321000"}, {"name": "山田 二郎"}],
    "portal_password": "hunter2",
    "note": "保育所の利用申込み",
}


def test_secret_fields_are_found_through_refs_and_arrays():
    assert secret_pointers(SCHEMA) == [
        "/applicant/individual_number",
        "/children/*/my_number",
        "/portal_password",
    ]


def test_mask_for_views_full_and_last_four():
    before = copy.deepcopy(DATA)
    masked = mask_secrets(DATA, SCHEMA)
    assert masked["applicant"] == {"name": "山田 花子", "individual_number": MASK}
    assert masked["children"][0]["my_number"] == MASK
    assert masked["children"][1] == {"name": "山田 二郎"}
    assert masked["portal_password"] == MASK
    assert masked["note"] == DATA["note"]
    last4 = mask_secrets(DATA, SCHEMA, keep_last4=True)
    assert last4["applicant"]["individual_number"] == "********9018"
    assert before == DATA  # never mutated


def test_drop_for_logs_and_search_attributes():
    dropped = drop_secrets(DATA, SCHEMA)
    assert dropped["applicant"] == {"name": "山田 花子"}
    assert dropped["children"] == [{"name": "山田 一郎"}, {"name": "山田 二郎"}]
    assert "portal_password" not in dropped
    assert NUMBER not in json.dumps(dropped)


def test_catalogue_forms_without_secrets_pass_unchanged(catalog: Catalog):
    procedure = catalog.get("disaster-certificate")
    assert secret_pointers(procedure.form_schema) == []
    data = {"applicant": {"name": {"family": "山田"}}}
    assert mask_secrets(data, procedure.form_schema) == data


def test_scrub_without_a_schema():
    event = {
        "event": "submitted",
        "MyNumber": NUMBER,
        "payload": [{"個人番号": "x"}, f"番号は{NUMBER[:4]}-{NUMBER[4:8]}-{NUMBER[8:]}です"],
        "fullwidth": "１２３４５６７８９０１８",
        "phone": "031234567890",  # 12 digits without a valid check digit: kept
        "count": 123456789018,
    }
    clean = scrub(event)
    assert clean["MyNumber"] == MASK
    assert clean["payload"] == [{"個人番号": MASK}, f"番号は{MASK}です"]
    assert clean["fullwidth"] == MASK
    assert clean["phone"] == "031234567890"
    assert clean["count"] == MASK
    assert scrub({"n": 42, "flag": True}) == {"n": 42, "flag": True}
    assert NUMBER not in json.dumps(clean, ensure_ascii=False)


def test_redacting_filter_on_a_handler():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("madoguchi.test.masking")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("submitted with number %s for %s", NUMBER, "case-1")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == f"submitted with number {MASK} for case-1\n"


def test_scrub_catches_renamed_and_nested_my_number_keys():
    # Renaming dodged the name check: dotted, full-width and suffixed names, nested keys.
    other = "123456789012"  # not a valid My Number: only the name can catch it
    event = {
        "address.my_number": other,
        "ｍｙ＿ｎｕｍｂｅｒ": other,
        "individual_number_x": other,
        "Individual-Number (copy)": other,
        "ﾏｲﾅﾝﾊﾞｰ": other,
        "address": {"my_number": other, "city": "千代田区"},
        "members": [{"person": {"MY.NUMBER": other}}],
        "phone": "0312345678",
    }
    clean = scrub(event)
    assert other not in json.dumps(clean, ensure_ascii=False)
    assert clean["address"] == {"my_number": MASK, "city": "千代田区"}
    assert clean["members"] == [{"person": {"MY.NUMBER": MASK}}]
    assert clean["phone"] == "0312345678"


def test_my_number_key_names():
    from forms.secretkeys import is_my_number_key, my_number_keys

    for name in [
        "my_number",
        "MyNumber",
        "ｍｙ＿ｎｕｍｂｅｒ",
        "address.my_number",
        "個人番号",
        "individual_number_x",
        "kojin-bango",
        "マイナンバー",
    ]:
        assert is_my_number_key(name), name
    for name in ["number", "phone_number", "my_name", "individual", 12]:
        assert not is_my_number_key(name), name
    claims = {
        "sub": "x",
        "address": {"city": "c", "ｍｙ＿ｎｕｍｂｅｒ": "1"},
        "l": [{"myNumber": 1}],
    }
    assert sorted(my_number_keys(claims)) == ["address/ｍｙ＿ｎｕｍｂｅｒ", "l/0/myNumber"]
