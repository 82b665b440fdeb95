"""Input limits checked before any schema validation: sizes, nesting depth, unsafe text.

jsonschema validates every item of an array before it reports that there are too many,
and recurses as deep as the data goes. One resident's 100,000 photos (or a list nested
900 deep) would then cost seconds of CPU, a 16 MB error body or a ``RecursionError``.
:func:`screen` walks the data once, iteratively, next to its schema, and

* reports ``maxItems``, ``maxProperties`` and ``maxLength`` from the schema (or the
  engine ceilings below when the schema declares none) without looking inside the
  offending value: it is cut down to the limit in the copy handed to jsonschema, and what
  jsonschema says about the cut value is left out;
* reports ``maxDepth`` for containers nested deeper than :data:`MAX_DEPTH` and replaces
  them by ``null`` in that copy;
* reports ``forbidden_character`` for a string (value or member name) holding a lone
  surrogate or a bidirectional control character, which would fail to encode or show
  text in another order than it is stored (in a sealed PDF, too).

This module exists so that these checks apply to every validation (applications,
drafts, caseworker inputs) in one place, before the expensive one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from forms.schemas import child_schema, resolver_for, schema_chain

if TYPE_CHECKING:
    from referencing import Registry
    from referencing._core import Resolver

__all__ = [
    "DEFAULT_MAX_ITEMS",
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_MAX_PROPERTIES",
    "FORBIDDEN_CHARACTERS",
    "MAX_DEPTH",
    "Breach",
    "Screened",
    "copy_data",
    "screen",
]

#: Containers nested deeper than this (the document itself is level 1) are refused.
MAX_DEPTH = 32
#: Ceilings where a schema declares no ``maxItems`` / ``maxProperties`` / ``maxLength``,
#: or a larger one: no form needs more, and each bounds the work of one validation.
DEFAULT_MAX_ITEMS = 1000
DEFAULT_MAX_PROPERTIES = 1000
DEFAULT_MAX_LENGTH = 100_000

#: Lone surrogates, and the bidirectional controls (LRE RLE PDF LRO RLO, LRI RLI FSI PDI,
#: LRM RLM, ALM) that reorder how text is shown.
FORBIDDEN_CHARACTERS = re.compile("[\ud800-\udfff\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


@dataclass(frozen=True)
class Breach:
    """One limit the data exceeds."""

    path: tuple[str | int, ...]
    code: str
    """``maxItems``, ``maxProperties``, ``maxLength``, ``maxDepth`` or
    ``forbidden_character``."""
    limit: int | None
    chain: list[dict] = field(repr=False, compare=False)
    """The schema chain of the value (empty when the schema does not declare it)."""


@dataclass
class Screened:
    """What :func:`screen` found."""

    data: Any
    """A copy of the data cut to the limits: what the schema validator may look at."""
    breaches: list[Breach]
    cut: list[tuple[str | int, ...]]
    """Paths of the values changed in :attr:`data`: schema errors there and below describe
    the cut copy, not what was sent (and an oversized value is not validated further)."""


def _limit(chain: list[dict], keyword: str, ceiling: int) -> int:
    declared = [
        n[keyword]
        for n in chain
        if isinstance(n.get(keyword), int) and not isinstance(n.get(keyword), bool)
    ]
    return min([*declared, ceiling])


def screen(schema: object, data: Any, registry: Registry) -> Screened:
    """Check ``data`` against the limits (see the module docstring), never recursing.

    :param schema: the JSON Schema the data will be validated against.
    :param registry: the shared schemas its ``$ref`` may name.
    """
    breaches: list[Breach] = []
    cut: list[tuple[str | int, ...]] = []
    chains: dict[int, tuple[list[dict], Resolver]] = {}

    def chain_of(node: object, resolver: Resolver) -> tuple[list[dict], Resolver]:
        # Array items share one schema node: resolve it once, not once per item.
        key = id(node)
        if key not in chains:
            chains[key] = schema_chain(node, resolver)
        return chains[key]

    root_chain, root_resolver = schema_chain(schema, resolver_for(schema, registry))
    holder: list[Any] = [None]
    # (value, container of its copy, key there, path, chain, resolver, depth, owner): the
    # owner is the chain of the nearest declared field, whose title names a breach below it.
    stack: list[tuple[Any, Any, Any, tuple[str | int, ...], list[dict], Any, int, list[dict]]] = [
        (data, holder, 0, (), root_chain, root_resolver, 1, root_chain)
    ]
    while stack:
        value, parent, key, path, chain, resolver, depth, owner = stack.pop()
        owner = chain or owner
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            breaches.append(Breach(path, "maxDepth", MAX_DEPTH, owner))
            cut.append(path)
            parent[key] = None
            continue
        if isinstance(value, str):
            limit = _limit(chain, "maxLength", DEFAULT_MAX_LENGTH)
            if len(value) > limit:
                breaches.append(Breach(path, "maxLength", limit, chain))
                cut.append(path)
                value = value[:limit]
            if FORBIDDEN_CHARACTERS.search(value):
                breaches.append(Breach(path, "forbidden_character", None, owner))
            parent[key] = value
            continue
        if isinstance(value, list):
            limit = _limit(chain, "maxItems", DEFAULT_MAX_ITEMS)
            if len(value) > limit:
                breaches.append(Breach(path, "maxItems", limit, chain))
                cut.append(path)
                value = value[:limit]
            copied: list[Any] = [None] * len(value)
            parent[key] = copied
            items = child_schema(chain, 0)
            item_chain, item_resolver = (
                chain_of(items, resolver) if items is not None else ([], resolver)
            )
            for index in range(len(value) - 1, -1, -1):
                stack.append(
                    (
                        value[index],
                        copied,
                        index,
                        (*path, index),
                        item_chain,
                        item_resolver,
                        depth + 1,
                        owner,
                    )
                )
            continue
        if isinstance(value, dict):
            limit = _limit(chain, "maxProperties", DEFAULT_MAX_PROPERTIES)
            names = list(value)
            if len(names) > limit:
                breaches.append(Breach(path, "maxProperties", limit, chain))
                cut.append(path)
                names = names[:limit]
            copied_object: dict[Any, Any] = {}
            parent[key] = copied_object
            pending = []
            for name in names:
                child_path = (*path, name)
                if isinstance(name, str) and FORBIDDEN_CHARACTERS.search(name):
                    breaches.append(Breach(child_path, "forbidden_character", None, owner))
                child = child_schema(chain, name) if isinstance(name, str) else None
                child_chain, child_resolver = (
                    chain_of(child, resolver) if child is not None else ([], resolver)
                )
                copied_object[name] = None
                pending.append(
                    (
                        value[name],
                        copied_object,
                        name,
                        child_path,
                        child_chain,
                        child_resolver,
                        depth + 1,
                        owner,
                    )
                )
            stack.extend(reversed(pending))
            continue
        parent[key] = value
    return Screened(data=holder[0], breaches=breaches, cut=cut)


def copy_data(value: Any) -> Any:
    """A deep copy of JSON-like ``value`` (dicts, lists, tuples as lists, scalars) made
    without recursion, so data nested however deep never raises ``RecursionError``."""
    holder: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, holder, 0)]
    while stack:
        node, parent, key = stack.pop()
        if isinstance(node, dict):
            copied: dict[Any, Any] = dict.fromkeys(node)
            parent[key] = copied
            stack.extend((item, copied, name) for name, item in node.items())
        elif isinstance(node, list | tuple):
            items: list[Any] = [None] * len(node)
            parent[key] = items
            stack.extend((item, items, index) for index, item in enumerate(node))
        else:
            parent[key] = node
    return holder[0]
