"""JSON pointers (RFC 6901) for forms, over the ``jsonpointer`` package.

Every pointer in forms/ (field paths of errors, dedupe fields, catalogue problem
locations) is built and read here, so escaping (``~0``, ``~1``) is written once. This
module exists only for what the package does not say the way forms need it: an absent
value is a sentinel rather than an exception, ``-`` (the end of an array) never resolves
to a value, and :func:`assign` creates the containers on its way, replacing a scalar
that stands where a container belongs (what a form post means).

Everything here is iterative: a pointer into deeply nested data never recurses.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonpointer import EndOfList, JsonPointer, JsonPointerException, escape, unescape

__all__ = [
    "MISSING",
    "assign",
    "escape",
    "is_missing",
    "remove",
    "resolve",
    "segments",
    "to_pointer",
    "unescape",
]

MISSING: Any = object()
"""What :func:`resolve` returns for an absent path (never equal to a JSON value)."""


def to_pointer(path: Iterable[object]) -> str:
    """The pointer of the path segments ``path`` (keys and array indices)."""
    return JsonPointer.from_parts(path).path


def segments(pointer: str) -> list[str]:
    """The unescaped segments of ``pointer`` (``"/a~1b/0"`` → ``["a/b", "0"]``).

    :raises ValueError: if ``pointer`` is not a JSON pointer.
    """
    try:
        return list(JsonPointer(pointer).parts)
    except JsonPointerException as exc:
        raise ValueError(f"not a JSON pointer: {pointer!r} ({exc})") from None


def resolve(data: object, pointer: str, default: Any = MISSING) -> Any:
    """The value at ``pointer`` in ``data``, or ``default`` (:data:`MISSING`) if absent.

    Array indices are honoured; ``-``, leading zeros and out-of-range indices count as
    absent.

    :raises ValueError: if ``pointer`` is not a JSON pointer.
    """
    try:
        parsed = JsonPointer(pointer)
    except JsonPointerException as exc:
        raise ValueError(f"not a JSON pointer: {pointer!r} ({exc})") from None
    value = parsed.resolve(data, default)
    return default if isinstance(value, EndOfList) else value


def is_missing(value: object) -> bool:
    """Whether ``value`` is the sentinel :func:`resolve` returns for an absent path."""
    return value is MISSING


def assign(data: dict, pointer: str, value: Any) -> None:
    """Set the value at ``pointer`` in ``data`` in place, creating objects on the way.

    An intermediate member that is not an object or array is replaced by an object;
    array indices must exist (``-`` appends).
    """
    parts = segments(pointer)
    if not parts:
        raise ValueError("cannot assign the whole document in place")
    node: Any = data
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(JsonPointer.get_part(node, part))]
            continue
        if not isinstance(node.get(part), dict | list):
            node[part] = {}
        node = node[part]
    if isinstance(node, list):
        index = JsonPointer.get_part(node, parts[-1])
        if index == "-":
            node.append(value)
        else:
            node[int(index)] = value
    else:
        node[parts[-1]] = value


def remove(data: object, pointer: str) -> None:
    """Remove the object member at ``pointer`` in place; absent paths are left alone."""
    parts = segments(pointer)
    if not parts:
        return
    parent = resolve(data, to_pointer(parts[:-1]), None)
    if isinstance(parent, dict):
        parent.pop(parts[-1], None)
