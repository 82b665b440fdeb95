"""Forms generated from JSON Schema: pages, widgets, hints, reading posts, arrays."""

from __future__ import annotations

from forms.schemaform import SchemaForm

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "who": {"title": "氏名", "x-title-en": "Name", "type": "string", "x-ui": {"page": "about"}},
        "kana": {
            "title": "フリガナ",
            "type": "string",
            "pattern": "^[ァ-ヶー]+$",
            "x-ui": {"page": "about"},
        },
        "size": {"title": "人数", "type": "integer"},
        "colour": {
            "title": "色",
            "type": "string",
            "enum": ["r", "g"],
            "x-enum-titles": {"r": {"ja": "赤", "en": "Red"}, "g": {"ja": "緑", "en": "Green"}},
            "x-ui": {"widget": "select"},
        },
        "children": {
            "title": "子",
            "type": "array",
            "maxItems": 2,
            "items": {
                "type": "object",
                "title": "子",
                "properties": {"name": {"title": "名前", "type": "string"}},
                "required": ["name"],
            },
        },
    },
    "required": ["who", "size"],
}


def test_pages_follow_x_ui_hints_and_widgets():
    form = SchemaForm(SCHEMA)
    assert form.page_ids() == ["about", "size", "colour", "children"]
    about = form.page("about", {})
    assert [f.pointer for f in about.fields] == ["/who", "/kana"]
    assert about.fields[0].required and not about.fields[1].required
    assert about.fields[1].kana and not about.fields[0].kana
    colour = form.page("colour", {"colour": "g"}).fields[0]
    assert colour.kind == "select" and colour.display("en") == "Green"
    assert form.page("size", {}).fields[0].kind == "integer"


def test_reading_a_post_keeps_what_was_typed():
    form = SchemaForm(SCHEMA)
    fields = form.page("size", {}).fields
    assert form.read(fields, {"/size": "１２"}, {"who": "a"}) == {"who": "a", "size": 12}
    assert form.read(fields, {"/size": "twelve"}, {})["size"] == "twelve"  # shown again
    assert "size" not in form.read(fields, {"/size": "  "}, {"size": 3})  # cleared


def test_array_items_are_added_read_and_removed_without_javascript():
    form = SchemaForm(SCHEMA)
    data = form.with_item_added({}, "/children")
    data = form.with_item_added(data, "/children")
    array = form.page("children", data).fields[0]
    assert array.kind == "array" and len(array.items) == 2
    assert array.items[1][0].children[0].pointer == "/children/1/name"
    posted = {"_count/children": "2", "/children/0/name": "太郎", "/children/1/name": "花子"}
    data = form.read(form.page("children", data).fields, posted, data)
    assert data["children"] == [{"name": "太郎"}, {"name": "花子"}]
    assert form.with_item_removed(data, "/children", 0)["children"] == [{"name": "花子"}]
    assert "children" not in form.with_item_removed({"children": [{}]}, "/children", 0)


# ---- resident filing (#17) ---------------------------------------------------------------

YES_NO = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "changed": {"title": "変更がありましたか", "type": "boolean"},
        "agree": {"title": "誓約します", "type": "boolean", "const": True},
        "when": {"title": "日付", "type": "string", "format": "date"},
        "amount": {"title": "金額", "type": "integer"},
        "phone": {"$ref": "https://madoguchi.example/schemas/common/phone.schema.json"},
        "home": {"$ref": "https://madoguchi.example/schemas/common/address.schema.json"},
        "name": {"$ref": "https://madoguchi.example/schemas/common/person-name.schema.json"},
    },
}


def _by_pointer(form: SchemaForm, data: dict | None = None) -> dict:
    return {f.pointer: f for top in form.all_fields(data or {}) for f in top.walk()}


def test_a_boolean_is_a_yes_no_pair_and_const_true_one_checkbox():
    form = SchemaForm(YES_NO)
    fields = _by_pointer(form)
    assert fields["/changed"].kind == "boolean"
    assert [o.value for o in fields["/changed"].options] == ["true", "false"]
    assert fields["/agree"].kind == "consent"
    top = form.all_fields({})
    read = form.read(top, {"/changed": "false", "/agree": "true"}, {})
    assert read["changed"] is False and read["agree"] is True
    assert form.read(top, {"/changed": "true"}, {})["changed"] is True
    assert form.read(top, {"/changed": "いいえ"}, {})["changed"] == "いいえ"  # refused later
    assert "agree" not in form.read(top, {}, {})  # unticked: missing, so required says so
    shown = _by_pointer(form, {"changed": False})["/changed"]
    assert shown.chosen("false") and not shown.chosen("true")


def test_dates_amounts_phones_postal_codes_and_kana_as_people_type_them():
    form = SchemaForm(YES_NO)
    top = form.all_fields({})
    for typed in ("令和8年9月10日", "R8.9.10", "2026/9/10", "2026-09-10", "２０２６年９月１０日"):
        assert form.read(top, {"/when": typed}, {})["when"] == "2026-09-10", typed
    assert form.read(top, {"/when": "2026/2/30"}, {})["when"] == "2026/2/30"  # refused later
    assert form.read(top, {"/amount": "1,200,000円"}, {})["amount"] == 1200000
    assert form.read(top, {"/amount": "１２，０００"}, {})["amount"] == 12000
    assert form.read(top, {"/phone": "+81 90-1234-5678"}, {})["phone"] == "09012345678"
    assert form.read(top, {"/phone": "+81 (0)3 1234 5678"}, {})["phone"] == "0312345678"
    assert form.read(top, {"/home/postal_code": "〒100-0005"}, {})["home"]["postal_code"] == (
        "1000005")
    assert form.read(top, {"/name/family_kana": "ヤマ ダ"}, {})["name"]["family_kana"] == "ヤマダ"
    assert _by_pointer(form, {"home": {"postal_code": "1000005"}})["/home/postal_code"].display(
        "ja") == "〒100-0005"


def test_prefectures_have_english_names_and_the_sign_in_fills_name_and_address():
    form = SchemaForm(YES_NO)
    prefecture = _by_pointer(form)["/home/prefecture"]
    assert {o.value: o.label["en"] for o in prefecture.options}["東京都"] == "Tokyo"
    assert len(prefecture.options) == 47
    filled = SchemaForm({"type": "object", "properties": {"applicant": {
        "type": "object", "properties": {
            "name": {"$ref": "https://madoguchi.example/schemas/common/person-name.schema.json"},
            "address": {"$ref": "https://madoguchi.example/schemas/common/address.schema.json"},
        }}}}).prefill({}, {"name": "山田 太郎", "name_kana": "ヤマダ タロウ",
                           "address": "東京都千代田区九段南1-2-1"})
    assert filled == {"applicant": {
        "name": {"family": "山田", "given": "太郎",
                 "family_kana": "ヤマダ", "given_kana": "タロウ"},
        "address": {"prefecture": "東京都", "city": "千代田区", "street": "九段南1-2-1"}}}


def test_same_as_the_applicant_address_copies_it():
    form = SchemaForm({"type": "object", "properties": {
        "applicant": {"type": "object", "properties": {
            "address": {"$ref": "https://madoguchi.example/schemas/common/address.schema.json"}}},
        "property": {"type": "object", "properties": {
            "address": {"$ref": "https://madoguchi.example/schemas/common/address.schema.json"}}},
    }})
    fields = _by_pointer(form)
    assert fields["/property/address"].same_as == "/applicant/address"
    assert fields["/applicant/address"].same_as is None
    home = {"postal_code": "1000005", "prefecture": "東京都", "city": "千代田区",
            "street": "丸の内1"}
    page = [f for f in form.all_fields({}) if f.pointer == "/property"]
    read = form.read(page, {"_same/property/address": "1"}, {"applicant": {"address": home}})
    assert read["property"]["address"] == home
    assert "property" not in form.read(page, {}, {"applicant": {"address": home}})
