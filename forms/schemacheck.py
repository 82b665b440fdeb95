"""Checking catalogue schemas: valid 2020-12, references that resolve, titled fields.

A form schema is data a municipality writes; this module exists to refuse, at load
time and with a pointer to the spot, what would otherwise surface as a confusing error
in front of a resident: an unknown keyword value, a ``$ref`` to nothing, a field without
a Japanese or English title, an unknown ``x-choices`` source, a malformed
``x-attachment`` rule, or a ``format`` this installation does not check (jsonschema
ignores those silently: the field would accept anything).
"""

from __future__ import annotations

import typing
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from forms.attachments import rule_problems
from forms.pointers import escape, to_pointer
from forms.problems import UNREADABLE, CatalogProblem, ProblemLog
from forms.schemas import (
    CHOICE_SOURCES,
    COMMON_BASE_URI,
    COMMON_DIR,
    SCHEMA_DIALECT,
    build_registry,
    format_checker,
    schema_chain,
)

if typing.TYPE_CHECKING:
    from referencing._core import Resolver

__all__ = ["check_common", "check_schema"]

# Keywords whose values are data, not subschemas: a "$ref" key inside them is not a reference.
_DATA_KEYWORDS = frozenset(
    {"const", "enum", "default", "examples", "x-messages", "x-enum-titles", "x-attachment"}
)


# Keywords whose values map names to subschemas (so a property may be called "enum").
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})


def _unresolvable_refs(schema: dict, registry: Registry) -> list[tuple[str, str]]:
    """``(pointer, message)`` for every ``$ref`` of ``schema`` that does not resolve."""
    problems: list[tuple[str, str]] = []

    def walk(node: object, pointer: str, resolver: Resolver, is_map: bool) -> None:
        if isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{pointer}/{index}", resolver, False)
            return
        if not isinstance(node, dict):
            return
        if is_map:
            for key, value in node.items():
                walk(value, f"{pointer}/{escape(key)}", resolver, False)
            return
        if pointer and isinstance(node.get("$id"), str):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                resolver.lookup(ref)
            except Unresolvable as exc:
                problems.append((f"{pointer}/$ref", f"$ref {ref!r} does not resolve ({exc})"))
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                walk(value, f"{pointer}/{escape(key)}", resolver, key in _SCHEMA_MAPS)

    walk(schema, "", registry.resolver_with_root(DRAFT202012.create_resource(schema)), False)
    return problems


def _unchecked_formats(schema: dict) -> list[tuple[str, str]]:
    """``(pointer, message)`` for every ``format`` that the form checker cannot check."""
    known = format_checker().checkers
    problems: list[tuple[str, str]] = []

    def walk(node: object, pointer: str, is_map: bool) -> None:
        if isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{pointer}/{index}", False)
        elif isinstance(node, dict):
            if not is_map and isinstance(node.get("format"), str) \
                    and node["format"] not in known:
                problems.append((f"{pointer}/format",
                                 f"format {node['format']!r} is not checked here "
                                 f"(checked: {', '.join(sorted(known))})"))
            for key, value in node.items():
                if not is_map and key in _DATA_KEYWORDS:
                    continue
                walk(value, f"{pointer}/{escape(key)}", not is_map and key in _SCHEMA_MAPS)

    walk(schema, "", False)
    return problems


def check_schema(
    problems: ProblemLog,
    relative: str,
    schema: object,
    registry: Registry,
) -> bool:
    """Record what is wrong with a schema file's contents; ``True`` if nothing is."""
    before = len(problems.items)
    if not isinstance(schema, dict):
        problems.add(relative, "", "a schema file must hold a JSON object")
        return False
    if schema.get("$schema") != SCHEMA_DIALECT:
        problems.add(relative, "/$schema", f'must declare "$schema": "{SCHEMA_DIALECT}"')
    meta = Draft202012Validator(
        Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    meta_errors = sorted(meta.iter_errors(schema), key=lambda e: list(map(str, e.absolute_path)))
    for error in meta_errors:
        problems.add(
            relative,
            to_pointer(list(error.absolute_path)),
            f"not valid JSON Schema: {error.message}",
        )
    if meta_errors:
        return False
    for pointer, message in _unresolvable_refs(schema, registry) + _unchecked_formats(schema):
        problems.add(relative, pointer, message)
    _check_fields(problems, relative, schema, registry)
    return len(problems.items) == before


def _check_fields(problems: ProblemLog, relative: str, schema: dict, registry: Registry) -> None:
    """Every property written in this file, and the ``items`` of every array, has a ja
    and an en title (a list's entries are shown, and refused, under that title);
    x-choices are known.

    Properties reached through a ``$ref`` into another file are that file's business.
    """
    resolver = registry.resolver_with_root(DRAFT202012.create_resource(schema))

    def walk(node: object, pointer: str) -> None:
        if not isinstance(node, dict):
            return
        chain, _ = schema_chain(node, resolver)
        if isinstance(chain[-1].get("$ref"), str):
            return  # an unresolvable $ref, already reported: no second problem for it
        titled = {
            "title": any(isinstance(n.get("title"), str) for n in chain),
            "x-title-en": any(isinstance(n.get("x-title-en"), str) for n in chain),
        }
        for keyword, present in titled.items():
            if not present:
                problems.add(relative, pointer, f"field has no {keyword!r}")
        rule = node.get("x-attachment")
        if rule is not None:
            for where, message in rule_problems(rule):
                problems.add(relative, f"{pointer}/x-attachment{where}", message)
        choices = node.get("x-choices")
        if choices is not None and choices not in CHOICE_SOURCES:
            known = ", ".join(sorted(CHOICE_SOURCES))
            problems.add(
                relative, f"{pointer}/x-choices", f"unknown x-choices {choices!r} (known: {known})"
            )
        props = node.get("properties")
        if isinstance(props, dict):
            for name, child in props.items():
                walk(child, f"{pointer}/properties/{escape(name)}")
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, f"{pointer}/items")

    walk(schema, "")


def check_common(directory: Path = COMMON_DIR) -> list[CatalogProblem]:
    """Check the shared schemas: valid 2020-12, ``$id`` matching the file, refs resolve."""
    problems = ProblemLog(directory, directory.name)
    schemas: dict[str, dict] = {}
    for path in sorted(directory.glob("*.schema.json")):
        contents = problems.read_json(path.name)
        if contents is UNREADABLE:
            continue
        if not isinstance(contents, dict):
            problems.add(path.name, "", "a schema file must hold a JSON object")
            continue
        expected = COMMON_BASE_URI + path.name
        if contents.get("$id") != expected:
            problems.add(path.name, "/$id", f"must be {expected!r}")
            continue
        schemas[path.name] = contents
    registry = build_registry(schemas)
    for name, contents in schemas.items():
        check_schema(problems, name, contents, registry)
    return problems.items
