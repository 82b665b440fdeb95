"""The texts of field errors: built-in ja/en templates, field titles, and how they combine.

Where a message comes from, most specific first:

1. ``x-messages`` in the field's schema (``{"pattern": {"ja": ..., "en": ...}}``), so the
   shared postal-code schema can say "7桁の数字で" instead of "形式が正しくありません";
2. ``error.<code>`` in the procedure's messages files;
3. the built-in texts below.

Templates may use ``{title}`` and ``{limit}``. Titles come from the procedure's messages
(``field.<pointer>``, e.g. ``field./property/address/postal_code``), then the schema's
``title`` (ja) and ``x-title-en`` (en), following ``$ref`` with sibling keywords taking
precedence, so a form can rename a shared schema where it uses it.

This module exists so that every check (the schema, the engine's input limits, the
filing cross checks) words its errors the same way, and so that the catalogue can tell
which keywords have a text of their own.
"""

from __future__ import annotations

from collections.abc import Mapping

from forms.pointers import to_pointer
from forms.schemas import first

__all__ = [
    "MESSAGE_KEYWORDS",
    "STRUCTURAL_KEYWORDS",
    "field_titles",
    "message",
]


def field_titles(
    chain: list[dict], pointer: str, messages: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, str | None]:
    """The ``{"ja", "en"}`` titles of a field, ``None`` where nothing declares one."""
    messages = messages or {}
    key = f"field.{pointer}"
    ja = messages.get("ja", {}).get(key) or first(chain, "title")
    en = messages.get("en", {}).get(key) or first(chain, "x-title-en")
    return {"ja": ja, "en": en}


# --- messages ------------------------------------------------------------------------------

_ROOT_TITLE = {"ja": "申請内容", "en": "The application"}

_BUILTIN: dict[str, dict[str, str]] = {
    "required": {"ja": "{title}を入力してください", "en": "{title} is required"},
    "minLength": {
        "ja": "{title}は{limit}文字以上で入力してください",
        "en": "{title} must be at least {limit} characters",
    },
    "minLength:1": {"ja": "{title}を入力してください", "en": "{title} is required"},
    "maxLength": {
        "ja": "{title}は{limit}文字以内で入力してください",
        "en": "{title} must be at most {limit} characters",
    },
    "minimum": {
        "ja": "{title}は{limit}以上にしてください",
        "en": "{title} must be at least {limit}",
    },
    "maximum": {
        "ja": "{title}は{limit}以下にしてください",
        "en": "{title} must be at most {limit}",
    },
    "exclusiveMinimum": {
        "ja": "{title}は{limit}より大きくしてください",
        "en": "{title} must be greater than {limit}",
    },
    "exclusiveMaximum": {
        "ja": "{title}は{limit}より小さくしてください",
        "en": "{title} must be less than {limit}",
    },
    "pattern": {
        "ja": "{title}の書き方が正しくありません",
        "en": "{title} is not in the expected format",
    },
    "format": {
        "ja": "{title}の書き方が正しくありません",
        "en": "{title} is not in the expected format",
    },
    "format:date": {
        "ja": "{title}は日付（例: 2026-09-20）で入力してください",
        "en": "{title} must be a date such as 2026-09-20",
    },
    "format:email": {
        "ja": "{title}の書き方が正しくありません（例: name@example.jp）",
        "en": "{title} must look like name@example.jp",
    },
    "format:municipality-code": {
        "ja": "{title}が正しくありません。6桁の番号を確かめてください",
        "en": "{title} is not a valid 6-digit code",
    },
    "format:corporate-number": {
        "ja": "{title}が正しくありません。13桁の番号を確かめてください",
        "en": "{title} is not a valid 13-digit number",
    },
    "format:individual-number": {
        "ja": "{title}が正しくありません。12桁の番号を確かめてください",
        "en": "{title} is not a valid 12-digit number",
    },
    "enum": {"ja": "{title}は選択肢から選んでください", "en": "{title} must be one of the options"},
    "const": {"ja": "{title}の内容が正しくありません", "en": "{title} is not valid"},
    "type": {"ja": "{title}は{type}で入力してください", "en": "{title} must be {type}"},
    "type:object": {"ja": "{title}の形式が正しくありません", "en": "{title} must be an object"},
    "type:array": {"ja": "{title}の形式が正しくありません", "en": "{title} must be a list"},
    "additionalProperties": {
        "ja": "「{title}」という項目はこの申請にありません",
        "en": '"{title}" is not a field of this form',
    },
    "unknown_disaster_event": {
        "ja": "{title}は、この市区町村が受け付けている災害から選んでください",
        "en": "{title} must be one that this municipality has declared",
    },
    "minItems": {
        "ja": "{title}は{limit}件以上にしてください",
        "en": "{title} needs at least {limit} entries",
    },
    "minItems:1": {
        "ja": "{title}を1件以上入力してください",
        "en": "{title} needs at least one entry",
    },
    "maxItems": {
        "ja": "{title}は{limit}件までにしてください",
        "en": "{title} can have at most {limit} entries",
    },
    "uniqueItems": {
        "ja": "{title}に同じものが重なっています",
        "en": "{title} lists the same entry twice",
    },
    "multipleOf": {
        "ja": "{title}は{limit}の倍数にしてください",
        "en": "{title} must be a multiple of {limit}",
    },
    "minProperties": {
        "ja": "{title}を{limit}項目以上入力してください",
        "en": "{title} needs at least {limit} answers",
    },
    "maxProperties": {
        "ja": "{title}は{limit}項目までにしてください",
        "en": "{title} can have at most {limit} answers",
    },
    "dependentRequired": {"ja": "{title}を入力してください", "en": "{title} is required"},
    "oneOf": {
        "ja": "{title}の内容が、どの選択肢にも当てはまりません",
        "en": "{title} does not match any of the allowed forms",
    },
    "anyOf": {
        "ja": "{title}の内容が、どの選択肢にも当てはまりません",
        "en": "{title} does not match any of the allowed forms",
    },
    "not": {"ja": "{title}の内容は受け付けられません", "en": "{title} is not accepted"},
    "contains": {
        "ja": "{title}に必要なものが含まれていません",
        "en": "{title} does not include what is needed",
    },
    "propertyNames": {
        "ja": "{title}の項目名が正しくありません",
        "en": "{title} has an invalid entry name",
    },
    "format:date-time": {
        "ja": "{title}は日時（例: 2026-09-20T10:00:00+09:00）で入力してください",
        "en": "{title} must be a date and time such as 2026-09-20T10:00:00+09:00",
    },
    "format:time": {
        "ja": "{title}は時刻（例: 10:00:00+09:00）で入力してください",
        "en": "{title} must be a time such as 10:00:00+09:00",
    },
    "format:uri": {
        "ja": "{title}はURL（例: https://example.jp/）で入力してください",
        "en": "{title} must be a URL such as https://example.jp/",
    },
    "unknown_attachment": {
        "ja": "{title}の添付ファイルが見つかりません。もう一度添付してください",
        "en": "The file attached to {title} was not found; please attach it again",
    },
    "attachment_type": {
        "ja": "{title}に添付できるのは {types} のファイルです",
        "en": "{title} accepts {types} files only",
    },
    "attachment_size": {
        "ja": "{title}のファイルが大きすぎます（{limit}まで）",
        "en": "A file attached to {title} is too large (at most {limit})",
    },
    "attachment_count": {
        "ja": "{title}に添付できるのは{limit}件までです",
        "en": "{title} takes at most {limit} files",
    },
    "maxDepth": {
        "ja": "{title}の入れ子が深すぎます（{limit}段まで）",
        "en": "{title} is nested too deeply (at most {limit} levels)",
    },
    "forbidden_character": {
        "ja": "{title}に使えない文字（文字の向きを変える制御文字など）が含まれています",
        "en": "{title} contains a character that cannot be used (such as a text direction control)",
    },
    "more_errors": {
        "ja": "ほかに{limit}件の誤りがあります",
        "en": "and {limit} more problems",
    },
    "*": {"ja": "{title}の内容が正しくありません", "en": "{title} is not valid"},
}

_TYPE_NAMES = {
    "string": {"ja": "文字", "en": "text"},
    "integer": {"ja": "整数", "en": "a whole number"},
    "number": {"ja": "数値", "en": "a number"},
    "boolean": {"ja": "はい・いいえ", "en": "true or false"},
    "object": {"ja": "項目のまとまり", "en": "an object"},
    "array": {"ja": "一覧", "en": "a list"},
    "null": {"ja": "空", "en": "empty"},
}


class _Placeholders(dict):
    def __missing__(self, key: str) -> str:
        # A template naming an unknown placeholder shows it rather than failing validation.
        return "{" + key + "}"


def _template(
    code: str,
    variant: str | None,
    lang: str,
    chain: list[dict],
    messages: Mapping[str, Mapping[str, str]],
) -> str:
    for node in chain:
        custom = node.get("x-messages")
        if isinstance(custom, dict):
            for key in filter(None, (f"{code}:{variant}" if variant else None, code)):
                text = custom.get(key, {})
                if isinstance(text, dict) and isinstance(text.get(lang), str):
                    return text[lang]
    for key in filter(None, (f"error.{code}:{variant}" if variant else None, f"error.{code}")):
        text = messages.get(lang, {}).get(key)
        if text:
            return text
    builtin = _BUILTIN.get(f"{code}:{variant}") or _BUILTIN.get(code) or _BUILTIN["*"]
    return builtin[lang]


def message(
    code: str,
    path: list[str | int],
    chain: list[dict],
    messages: Mapping[str, Mapping[str, str]],
    *,
    variant: str | None = None,
    limit: object = None,
    type_name: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    pointer = to_pointer(path)
    titles = field_titles(chain, pointer, messages)
    if not path:
        # The root's schema title is the procedure's name, which reads badly in an error.
        ja_title, en_title = _ROOT_TITLE["ja"], _ROOT_TITLE["en"]
    else:
        ja_title = titles["ja"] or str(path[-1])
        en_title = titles["en"] or titles["ja"] or str(path[-1])
    result = {}
    for lang, title in (("ja", ja_title), ("en", en_title)):
        values = _Placeholders(title=title)
        if limit is not None:
            values["limit"] = limit
        if type_name is not None:
            values["type"] = _TYPE_NAMES.get(type_name, {}).get(lang, type_name)
        values.update(extra or {})
        result[lang] = _template(code, variant, lang, chain, messages).format_map(values)
    return result


#: Keywords that can fail and have a message of their own (the rest fall back to "*").
MESSAGE_KEYWORDS = frozenset(key.split(":")[0] for key in _BUILTIN if key != "*")
#: Keywords that never fail by themselves: they structure, annotate or apply others.
STRUCTURAL_KEYWORDS = frozenset(
    {
        "$schema",
        "$id",
        "$ref",
        "$defs",
        "$comment",
        "$anchor",
        "title",
        "description",
        "default",
        "examples",
        "properties",
        "patternProperties",
        "items",
        "prefixItems",
        "allOf",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "readOnly",
        "writeOnly",
        "deprecated",
    }
)
