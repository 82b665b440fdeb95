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
