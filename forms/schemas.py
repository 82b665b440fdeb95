"""The schema vocabulary of forms: shared schemas, their registry, formats, and walking.

Shared schemas live in ``forms/common`` and are referenced by absolute ids under
:data:`COMMON_BASE_URI`, e.g. ``https://madoguchi.example/schemas/common/address.schema.json``.
Nothing is ever fetched over the network: an id that is not registered is unresolvable.

This module exists so that everything that reads a form schema (validation, texts,
attachments, masking, the catalogue check, generated HTML forms) follows ``$ref`` the
same way without importing one another: it depends on nothing else in forms/ but the
check digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from forms.checkdigits import (
    is_valid_corporate_number,
    is_valid_individual_number,
    is_valid_municipality_code,
)
from forms.pointers import escape

if TYPE_CHECKING:
    from referencing._core import Resolver

__all__ = [
    "CHOICE_SOURCES",
    "COMMON_BASE_URI",
    "COMMON_DIR",
    "SCHEMA_DIALECT",
    "build_registry",
    "chain_at",
    "child_schema",
    "common_registry",
    "first",
    "format_checker",
    "iter_fields",
    "read_common_schemas",
    "resolver_for",
    "schema_chain",
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


def resolver_for(schema: object, registry: Registry) -> Resolver:
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


def child_schema(chain: list[dict], segment: str | int) -> object | None:
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


def chain_at(schema: object, path: list[str | int], registry: Registry) -> list[dict]:
    chain, resolver = schema_chain(schema, resolver_for(schema, registry))
    for segment in path:
        child = child_schema(chain, segment)
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
                    yield from walk(child, resolver, f"{pointer}/{escape(name)}", depth + 1)

    yield from walk(schema, resolver_for(schema, registry), "", 0)


def first(chain: list[dict], keyword: str) -> Any:
    """The first non-empty string ``keyword`` along ``chain`` (local overrides win)."""
    for node in chain:
        value = node.get(keyword)
        if isinstance(value, str) and value:
            return value
    return None
