"""Masking the 個人番号 (My Number) and other secrets in data that is shown or logged.

A form field is *secret* when its schema (following ``$ref`` into ``forms/common``) says
``"format": "individual-number"`` or ``"writeOnly": true``. Then:

* :func:`mask_secrets` — for views (case detail, caseworker screens, documents): a secret
  string becomes ``"************"``, or with ``keep_last4`` the last four characters only
  (``"********9018"``), as a counter clerk may confirm them;
* :func:`drop_secrets` — for anything that leaves the case (logs, search attributes,
  exports that do not need it): the field is removed;
* :func:`scrub` — schema-less, for logs: masks members named like a My Number
  (``my_number``, ``individualNumber``, ``個人番号``, ``ｍｙ＿ｎｕｍｂｅｒ``, ``address.my_number``:
  :mod:`forms.secretkeys`) and replaces any 12-digit run
  that passes the My Number check digit (also written ``1234 5678 9018`` or in
  full-width digits). :class:`RedactingFilter` applies it to log records.

None of these mutate their input.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from referencing import Registry
from referencing.jsonschema import DRAFT202012

from forms.checkdigits import is_valid_individual_number
from forms.limits import copy_data
from forms.pointers import escape, segments
from forms.schemas import common_registry, schema_chain
from forms.secretkeys import is_my_number_key

__all__ = [
    "MASK",
    "RedactingFilter",
    "drop_secrets",
    "is_secret_schema",
    "mask_individual_number",
    "mask_secrets",
    "scrub",
    "secret_pointers",
]

MASK = "************"
_WILDCARD = "*"
# 12 digits, optionally grouped 4-4-4 by a space or hyphen; ASCII or full-width digits.
_DIGIT = "[0-9\uff10-\uff19]"
_CANDIDATE = re.compile(
    rf"(?<![0-9\uff10-\uff19]){_DIGIT}{{4}}[-\s]?{_DIGIT}{{4}}[-\s]?{_DIGIT}{{4}}"
    rf"(?![0-9\uff10-\uff19])"
)
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def is_secret_schema(chain: list[dict]) -> bool:
    """Whether a field whose schema chain (see ``forms.schemas.schema_chain``) is
    ``chain`` holds a secret."""
    return any(
        node.get("format") == "individual-number" or node.get("writeOnly") is True for node in chain
    )


def secret_pointers(schema: dict, registry: Registry | None = None) -> list[str]:
    """JSON pointers of the secret fields of ``schema``; ``*`` stands for any array index
    or map key (``/children/*/individual_number``).

    Follows ``$ref``, ``properties``, ``items``, ``additionalProperties`` and the
    subschemas of ``allOf``/``anyOf``/``oneOf``/``if``/``then``/``else``.
    """
    registry = common_registry() if registry is None else registry
    resolver = registry.resolver_with_root(DRAFT202012.create_resource(schema))
    found: list[str] = []

    def walk(node: object, res: Any, pointer: str, depth: int) -> None:
        if depth > 32 or not isinstance(node, dict):
            return
        chain, res = schema_chain(node, res)
        if is_secret_schema(chain):
            if pointer not in found:
                found.append(pointer)
            return
        for link in chain:
            for name, child in (link.get("properties") or {}).items():
                walk(child, res, f"{pointer}/{escape(name)}", depth + 1)
            for key in ("items", "additionalProperties"):
                if isinstance(link.get(key), dict):
                    walk(link[key], res, f"{pointer}/{_WILDCARD}", depth + 1)
            for key in ("allOf", "anyOf", "oneOf"):
                for child in link.get(key) or []:
                    walk(child, res, pointer, depth + 1)
            for key in ("if", "then", "else"):
                if isinstance(link.get(key), dict):
                    walk(link[key], res, pointer, depth + 1)

    walk(schema, resolver, "", 0)
    return found


def _locations(data: Any, segments: list[str]) -> Iterator[tuple[Any, Any]]:
    """(container, key) pairs that ``segments`` reach in ``data``."""
    if not segments:
        return
    head, rest = segments[0], segments[1:]
    if head == _WILDCARD:
        keys: list[Any] = (
            list(range(len(data)))
            if isinstance(data, list)
            else list(data)
            if isinstance(data, dict)
            else []
        )
    elif isinstance(data, dict) and head in data:
        keys = [head]
    else:
        keys = []
    for key in keys:
        if rest:
            yield from _locations(data[key], rest)
        else:
            yield data, key


def mask_individual_number(value: object, *, keep_last4: bool = False) -> object:
    """``"************"``, or ``"********9018"`` with ``keep_last4``; non-strings and
    empty strings are returned as they are (nothing to hide)."""
    if not isinstance(value, str) or not value:
        return value
    if keep_last4 and len(value) > 4:
        return "*" * 8 + value[-4:]
    return MASK


def _apply(
    data: Any, schema: dict, registry: Registry | None, action: str, keep_last4: bool
) -> Any:
    result = copy_data(data)
    for pointer in secret_pointers(schema, registry):
        if pointer == "":
            return (
                None if action == "drop" else mask_individual_number(result, keep_last4=keep_last4)
            )
        # Deepest first is irrelevant here: secret fields are leaves (we stop at them).
        for container, key in list(_locations(result, segments(pointer))):
            if action == "drop":
                if isinstance(container, dict):
                    del container[key]
                else:
                    container[key] = None
            else:
                container[key] = mask_individual_number(container[key], keep_last4=keep_last4)
    return result


def mask_secrets(
    data: Any, schema: dict, *, registry: Registry | None = None, keep_last4: bool = False
) -> Any:
    """A copy of form ``data`` with each secret field masked (see the module docstring).

    :param schema: the form's JSON Schema (as loaded by the catalogue).
    :param registry: the shared schemas (default: ``forms/common``).
    :param keep_last4: show the last four characters.
    """
    return _apply(data, schema, registry, "mask", keep_last4)


def drop_secrets(data: Any, schema: dict, *, registry: Registry | None = None) -> Any:
    """A copy of form ``data`` without its secret fields (array items become ``null``)."""
    return _apply(data, schema, registry, "drop", False)


def _scrub_text(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"[-\s]", "", match.group(0)).translate(_FULLWIDTH)
        return MASK if is_valid_individual_number(digits) else match.group(0)

    return _CANDIDATE.sub(replace, text)


def scrub(value: Any, *, _depth: int = 0) -> Any:
    """A copy of ``value`` safe to log as far as the My Number goes (see the module
    docstring). Dicts, lists and tuples are walked; strings and integers are checked;
    other objects pass unchanged."""
    if _depth > 64:
        return "[too deep]"
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        # A number typed as a JSON number loses nothing but its leading zeros.
        return MASK if is_valid_individual_number(f"{value:012d}") else value
    if isinstance(value, dict):
        return {
            key: (
                MASK
                if is_my_number_key(key) and item not in (None, "")
                else scrub(item, _depth=_depth + 1)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(scrub(item, _depth=_depth + 1) for item in value)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record through :func:`scrub`.

    Attach it to handlers (``handler.addFilter(RedactingFilter())``): a filter on a
    logger does not see records of its child loggers. The message is formatted first,
    so a My Number passed as an argument is caught too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own handling
            return True
        record.msg = _scrub_text(message)
        record.args = None
        return True
