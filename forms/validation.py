"""Validating form data against a procedure's JSON Schema, with localized messages.

Validation never raises for bad *data*: it returns a :class:`ValidationResult` listing every
problem at once, each with the JSON pointer of the field, a code (the JSON Schema keyword
that failed, or our own such as ``unknown_disaster_event``) and a message in Japanese and
English built from the field's title.

Where a message comes from, most specific first:

1. ``x-messages`` in the field's schema (``{"pattern": {"ja": ..., "en": ...}}``), so the
   shared postal-code schema can say "7桁の数字で" instead of "形式が正しくありません";
2. ``error.<code>`` in the procedure's messages files;
3. the built-in texts below.

Templates may use ``{title}`` and ``{limit}``. Titles come from the procedure's messages
(``field.<pointer>``, e.g. ``field./property/address/postal_code``), then the schema's
``title`` (ja) and ``x-title-en`` (en), following ``$ref`` with sibling keywords taking
precedence, so a form can rename a shared schema where it uses it.

Shared schemas live in ``forms/common`` and are referenced by absolute ids under
:data:`COMMON_BASE_URI`, e.g. ``https://madoguchi.example/schemas/common/address.schema.json``.
Nothing is ever fetched over the network: an id that is not registered is unresolvable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaValidationError
from pydantic import BaseModel, ConfigDict
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from forms.checkdigits import (
    is_valid_corporate_number,
    is_valid_individual_number,
    is_valid_municipality_code,
)
from forms.dedupe import is_missing, resolve_pointer

if TYPE_CHECKING:
    from referencing._core import Resolver

    from forms.catalog import Procedure
    from forms.municipalities import Municipality

__all__ = [
    "CHOICE_SOURCES",
    "COMMON_BASE_URI",
    "COMMON_DIR",
    "FieldError",
    "ValidationResult",
    "build_registry",
    "common_registry",
    "field_titles",
    "format_checker",
    "iter_fields",
    "schema_chain",
    "to_pointer",
    "validate_application",
    "validate_data",
    "validate_draft",
]

COMMON_DIR = Path(__file__).with_name("common")
COMMON_BASE_URI = "https://madoguchi.example/schemas/common/"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: ``x-choices`` sources a form field may declare: the field's value must be one of the
#: municipality's items of that kind. Maps the source to (error code, allowed values).
CHOICE_SOURCES: dict[str, tuple[str, Any]] = {
    "disaster_events": (
        "unknown_disaster_event",
        lambda municipality: {event.id for event in municipality.disaster_events},
    ),
}


class FieldError(BaseModel):
    """One problem with the submitted data."""

    model_config = ConfigDict(frozen=True)

    path: str
    """JSON pointer of the field (``""`` for the whole document)."""
    code: str
    """The JSON Schema keyword that failed (``required``, ``pattern``, ``format``, ...) or
    one of our own codes (``unknown_disaster_event``)."""
    message: dict[str, str]
    """``{"ja": ..., "en": ...}``, ready to show next to the field."""


class ValidationResult(BaseModel):
    """Every problem found, or none."""

    model_config = ConfigDict(frozen=True)

    valid: bool
    errors: list[FieldError]
    warnings: list[FieldError] = []
    """Problems that do not stop saving (drafts): shown, not enforced."""

    def paths(self) -> set[str]:
        """The pointers that have at least one error."""
        return {e.path for e in self.errors}


# --- formats -------------------------------------------------------------------------------

# The HTML Living Standard's "valid e-mail address": what browsers accept in
# <input type=email>. jsonschema's own "email" check only looks for an "@".
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


@lru_cache(maxsize=1)
def format_checker() -> FormatChecker:
    """The 2020-12 format checker plus our formats.

    Adds ``municipality-code``, ``corporate-number`` and ``individual-number`` (check
    digits, :mod:`forms.checkdigits`) and replaces ``email`` with the HTML definition.
    A copy is made: jsonschema's shared checker is never mutated.
    """
    checker = FormatChecker(formats=())
    checker.checkers.update(Draft202012Validator.FORMAT_CHECKER.checkers)
    # A format only constrains strings: other types are the "type" keyword's business.
    checker.checks("municipality-code")(
        lambda v: not isinstance(v, str) or is_valid_municipality_code(v)
    )
    checker.checks("corporate-number")(
        lambda v: not isinstance(v, str) or is_valid_corporate_number(v)
    )
    checker.checks("individual-number")(
        lambda v: not isinstance(v, str) or is_valid_individual_number(v)
    )
    checker.checks("email")(lambda v: not isinstance(v, str) or bool(_EMAIL.match(v)))
    return checker


# --- shared schemas ------------------------------------------------------------------------


def read_common_schemas(directory: Path = COMMON_DIR) -> dict[str, dict]:
    """The shared schemas of ``directory`` keyed by file name.

    :raises OSError, ValueError: if a file cannot be read or is not a JSON object.
    """
    schemas: dict[str, dict] = {}
    for path in sorted(directory.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(contents, dict):
            raise ValueError(f"{path.name}: a schema file must hold a JSON object")
        schemas[path.name] = contents
    return schemas


def build_registry(schemas: Mapping[str, dict]) -> Registry:
    """A crawled registry of the given shared schemas, each under its ``$id``.

    :raises ValueError: if a schema has no ``$id``.
    """
    resources = []
    for name, contents in schemas.items():
        schema_id = contents.get("$id")
        if not isinstance(schema_id, str):
            raise ValueError(f"{name}: a shared schema needs an '$id'")
        resources.append((schema_id, DRAFT202012.create_resource(contents)))
    return Registry().with_resources(resources).crawl()


@lru_cache(maxsize=1)
def common_registry() -> Registry:
    """The registry of ``forms/common`` (read once per process)."""
    return build_registry(read_common_schemas())


# --- walking schemas -----------------------------------------------------------------------


def _resolver_for(schema: object, registry: Registry) -> Resolver:
    resource: Resource = DRAFT202012.create_resource(schema)
    return registry.resolver_with_root(resource)


def schema_chain(schema: object, resolver: Resolver) -> tuple[list[dict], Resolver]:
    """``schema`` followed by what its ``$ref`` (and theirs) resolve to.

    The first element holds the sibling keywords written where the schema is used, so
    looking a keyword up in chain order gives local overrides precedence. Unresolvable
    or cyclic references end the chain quietly (the catalogue check reports them).
    """
    chain: list[dict] = []
    current, current_resolver = schema, resolver
    while isinstance(current, dict) and len(chain) < 16:
        if isinstance(current.get("$id"), str) and chain:
            current_resolver = current_resolver.in_subresource(DRAFT202012.create_resource(current))
        chain.append(current)
        ref = current.get("$ref")
        if not isinstance(ref, str):
            break
        try:
            resolved = current_resolver.lookup(ref)
        except Unresolvable:
            break
        current, current_resolver = resolved.contents, resolved.resolver
    return chain, current_resolver


def _child(chain: list[dict], segment: str | int) -> object | None:
    for node in chain:
        if isinstance(segment, str):
            props = node.get("properties")
            if isinstance(props, dict) and segment in props:
                return props[segment]
        elif isinstance(node.get("items"), dict | bool):
            return node["items"]
    for node in chain:
        extra = node.get("additionalProperties")
        if isinstance(segment, str) and isinstance(extra, dict):
            return extra
    return None


def _chain_at(schema: object, path: list[str | int], registry: Registry) -> list[dict]:
    chain, resolver = schema_chain(schema, _resolver_for(schema, registry))
    for segment in path:
        child = _child(chain, segment)
        if child is None:
            return []
        chain, resolver = schema_chain(child, resolver)
    return chain


def iter_fields(
    schema: object, registry: Registry | None = None
) -> Iterator[tuple[str, list[dict]]]:
    """Every declared property of ``schema``, depth first: ``(pointer, chain)``.

    Follows ``properties`` (through ``$ref``) only, which is how catalogue forms are
    written; the root is yielded first with pointer ``""``.
    """
    registry = common_registry() if registry is None else registry

    def walk(
        node: object, resolver: Resolver, pointer: str, depth: int
    ) -> Iterator[tuple[str, list[dict]]]:
        chain, resolver = schema_chain(node, resolver)
        yield pointer, chain
        if depth > 32:
            return
        seen: set[str] = set()
        for link in chain:
            props = link.get("properties")
            if not isinstance(props, dict):
                continue
            for name, child in props.items():
                if name not in seen:
                    seen.add(name)
                    yield from walk(child, resolver, f"{pointer}/{_escape(name)}", depth + 1)

    yield from walk(schema, _resolver_for(schema, registry), "", 0)


def _first(chain: list[dict], keyword: str) -> Any:
    for node in chain:
        value = node.get(keyword)
        if isinstance(value, str) and value:
            return value
    return None


def field_titles(
    chain: list[dict], pointer: str, messages: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, str | None]:
    """The ``{"ja", "en"}`` titles of a field, ``None`` where nothing declares one."""
    messages = messages or {}
    key = f"field.{pointer}"
    ja = messages.get("ja", {}).get(key) or _first(chain, "title")
    en = messages.get("en", {}).get(key) or _first(chain, "x-title-en")
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


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def to_pointer(path: list[str | int] | tuple[str | int, ...]) -> str:
    """A JSON pointer (RFC 6901) from path segments."""
    return "".join("/" + _escape(str(segment)) for segment in path)


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


def _message(
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


def _additional(instance: dict, schema: dict) -> list[str]:
    declared = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [
        key for key in instance if key not in declared and not any(p.search(key) for p in patterns)
    ]


_LIMITED = frozenset(
    {
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "multipleOf",
        "minProperties",
        "maxProperties",
    }
)

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


def _field_errors(
    error: SchemaValidationError,
    schema: object,
    registry: Registry,
    messages: Mapping[str, Mapping[str, str]],
) -> Iterator[FieldError]:
    path = list(error.absolute_path)
    code = str(error.validator)
    if code == "required" and isinstance(error.instance, dict):
        missing = [n for n in error.validator_value if n not in error.instance]
        for name in missing:
            where = [*path, name]
            chain = _chain_at(schema, where, registry)
            yield FieldError(
                path=to_pointer(where), code=code, message=_message(code, where, chain, messages)
            )
        return
    if code == "dependentRequired" and isinstance(error.instance, dict):
        for trigger, needed in (error.validator_value or {}).items():
            if trigger not in error.instance:
                continue
            for name in needed:
                if name in error.instance:
                    continue
                where = [*path, name]
                chain = _chain_at(schema, where, registry)
                yield FieldError(
                    path=to_pointer(where),
                    code=code,
                    message=_message(code, where, chain, messages),
                )
        return
    if code == "additionalProperties" and isinstance(error.instance, dict):
        for name in _additional(error.instance, error.schema):
            where = [*path, name]
            yield FieldError(
                path=to_pointer(where), code=code, message=_message(code, where, [], messages)
            )
        return
    chain = _chain_at(schema, path, registry)
    if isinstance(error.schema, dict) and error.schema not in chain:
        chain = [*chain, error.schema]
    variant = None
    limit = None
    type_name = None
    if code == "format":
        variant = str(error.validator_value)
    elif code in {"minLength", "minItems"} and error.validator_value == 1:
        variant = "1"
    elif code in _LIMITED or code.startswith("exclusive"):
        limit = error.validator_value
    elif code == "type":
        value = error.validator_value
        type_name = value if isinstance(value, str) else str(value[0]) if value else None
        if type_name in {"object", "array"}:
            variant = type_name
    yield FieldError(
        path=to_pointer(path),
        code=code,
        message=_message(
            code, path, chain, messages, variant=variant, limit=limit, type_name=type_name
        ),
    )


def validate_data(
    schema: dict,
    data: object,
    *,
    messages: dict[str, dict[str, str]] | None = None,
    registry: Registry | None = None,
) -> ValidationResult:
    """Validate ``data`` against a 2020-12 ``schema`` and report every error at once.

    :param schema: a JSON Schema already checked by the catalogue (an invalid schema
        raises :class:`jsonschema.exceptions.SchemaError` or ``referencing`` errors).
    :param messages: the procedure's ``{"ja": {...}, "en": {...}}`` texts, for field
        titles (``field.<pointer>``) and error texts (``error.<code>``).
    :param registry: the shared schemas ``$ref`` may name; defaults to ``forms/common``.
    :returns: errors sorted by path then code; a missing property is reported at its own
        pointer (``/applicant/phone``), an unexpected one likewise.
    """
    registry = common_registry() if registry is None else registry
    messages = messages or {}
    validator = Draft202012Validator(schema, registry=registry, format_checker=format_checker())
    errors: dict[tuple[str, str], FieldError] = {}
    for error in validator.iter_errors(data):
        for field_error in _field_errors(error, schema, registry, messages):
            errors.setdefault((field_error.path, field_error.code), field_error)
    ordered = [errors[key] for key in sorted(errors)]
    return ValidationResult(valid=not ordered, errors=ordered)


class AttachmentInfo(Protocol):
    """What validation needs to know of an uploaded file (records.attachments has it)."""

    owner: str
    media_type: str
    size: int


class AttachmentLookup(Protocol):
    def get(self, attachment_id: str) -> AttachmentInfo | None: ...


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size / 1024:g} KB"


def _attachment_errors(
    procedure: Procedure,
    data: object,
    failed: set[str],
    attachments: AttachmentLookup | None,
    owner: str | None,
) -> list[FieldError]:
    from forms.attachments import attachment_fields

    errors: list[FieldError] = []
    for pointer, rule in attachment_fields(procedure.form_schema):
        value = resolve_pointer(data, pointer)
        if is_missing(value) or pointer in failed:
            continue
        ids = value if isinstance(value, list) else [value]
        path: list[str | int] = [_unescape(seg) for seg in pointer.split("/")[1:]]
        chain = _chain_at(procedure.form_schema, path, common_registry())

        def error(
            code: str, at: list[str | int], chain: list[dict] = chain, **extra: object
        ) -> FieldError:
            limit = extra.pop("limit", None)
            return FieldError(
                path=to_pointer(at),
                code=code,
                message=_message(
                    code,
                    at,
                    chain,
                    procedure.messages,
                    limit=limit,
                    extra={k: str(v) for k, v in extra.items()},
                ),
            )

        if len(ids) > rule.max_count:
            errors.append(error("attachment_count", path, limit=rule.max_count))
        if attachments is None:
            continue
        for index, attachment_id in enumerate(ids):
            at = [*path, index] if isinstance(value, list) else path
            found = attachments.get(attachment_id) if isinstance(attachment_id, str) else None
            # Someone else's file is reported as missing: its existence is not revealed.
            if found is None or (owner is not None and found.owner != owner):
                errors.append(error("unknown_attachment", at))
            elif found.media_type not in rule.types:
                errors.append(
                    error(
                        "attachment_type",
                        at,
                        types=", ".join(t.split("/")[-1].upper() for t in rule.types),
                    )
                )
            elif found.size > rule.max_bytes:
                errors.append(error("attachment_size", at, limit=_human_size(rule.max_bytes)))
    return errors


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def validate_draft(procedure: Procedure, data: object) -> ValidationResult:
    """Lenient validation of a saved draft: nothing is enforced, problems are warnings.

    Missing answers (``required``, ``minLength`` 1, ``minItems`` 1) are not reported at all:
    a draft is unfinished by definition. ``valid`` is false only when ``data`` is not an
    object, which no form can ever become.
    """
    result = validate_data(procedure.form_schema, data, messages=procedure.messages)
    incomplete = {"required", "dependentRequired"}
    warnings = []
    for error in result.errors:
        if error.code in incomplete:
            continue
        if error.code in {"minLength", "minItems"} and resolve_pointer(data, error.path) in (
            "",
            [],
        ):
            continue
        warnings.append(error)
    is_object = isinstance(data, dict)
    return ValidationResult(
        valid=is_object, errors=[] if is_object else result.errors, warnings=warnings
    )


def validate_application(
    procedure: Procedure,
    municipality: Municipality,
    data: object,
    *,
    attachments: AttachmentLookup | None = None,
    owner: str | None = None,
) -> ValidationResult:
    """Validate an application to ``procedure`` filed with ``municipality``.

    Runs the form schema first, then the cross checks that need the municipality: every
    field whose schema declares ``"x-choices": "disaster_events"`` must name one of the
    municipality's declared events (code ``unknown_disaster_event``). A field that
    already failed the schema is not cross-checked again.

    Fields with ``x-attachment`` are checked against the rule's ``max_count``; with
    ``attachments`` given, every referenced id must exist and belong to ``owner`` (the
    applicant key; code ``unknown_attachment``), and its sniffed type and size must fit
    the rule (``attachment_type``, ``attachment_size``).
    """
    result = validate_data(procedure.form_schema, data, messages=procedure.messages)
    errors = list(result.errors)
    failed = result.paths()
    errors += _attachment_errors(procedure, data, failed, attachments, owner)
    registry = common_registry()
    for pointer, chain in iter_fields(procedure.form_schema, registry):
        source = _first(chain, "x-choices")
        if source is None or pointer in failed:
            continue
        if source not in CHOICE_SOURCES:
            raise ValueError(f"{pointer}: unknown x-choices source {source!r}")
        code, allowed_values = CHOICE_SOURCES[source]
        value = resolve_pointer(data, pointer)
        if is_missing(value):
            continue
        if isinstance(value, str) and value in allowed_values(municipality):
            continue
        path = [seg.replace("~1", "/").replace("~0", "~") for seg in pointer.split("/")[1:]]
        errors.append(
            FieldError(
                path=pointer,
                code=code,
                message=_message(code, list(path), chain, procedure.messages),
            )
        )
    errors.sort(key=lambda e: (e.path, e.code))
    return ValidationResult(valid=not errors, errors=errors)
