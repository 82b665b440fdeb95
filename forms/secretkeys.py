"""Names under which a 個人番号 (My Number) may hide, however they are spelt.

A key is a My Number key when, after NFKC normalization (full-width ``ｍｙ＿ｎｕｍｂｅｒ``
becomes ``my_number``), case folding and removing everything but letters and digits
(``_``, ``-``, ``.``, spaces, ``＿``...), it *contains* one of the known names: so
``my_number``, ``MyNumber``, ``address.my_number`` and ``individual_number_x`` all
match. Containment rather than equality errs on the side of hiding.

This module exists so that the log scrubber (:mod:`forms.masking`) and the token check
(:mod:`identity.verify`) recognise the same names; it imports nothing, so identity can
use it without pulling in jsonschema.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

__all__ = ["is_my_number_key", "my_number_keys", "normalize_key"]

_NAMES = ("mynumber", "individualnumber", "kojinbango", "個人番号", "マイナンバー")


def normalize_key(name: str) -> str:
    """``name`` in NFKC, case-folded, with only its letters and digits left."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LN")


def is_my_number_key(name: object) -> bool:
    """Whether ``name`` is a string that names a My Number (see the module docstring)."""
    if not isinstance(name, str):
        return False
    normalized = normalize_key(name)
    return any(known in normalized for known in _NAMES)


def my_number_keys(value: object, *, max_nodes: int = 100_000) -> Iterator[str]:
    """The paths (``address/my_number``, list indices included) of every member of
    ``value``, at any depth, whose name is a My Number key.

    Walks dicts and lists without recursion; stops after ``max_nodes`` values.
    """
    stack: list[tuple[object, tuple[str, ...]]] = [(value, ())]
    seen = 0
    while stack and seen < max_nodes:
        node, path = stack.pop()
        seen += 1
        if isinstance(node, dict):
            for key, item in node.items():
                where = (*path, str(key))
                if is_my_number_key(key):
                    yield "/".join(where)
                stack.append((item, where))
        elif isinstance(node, list):
            stack.extend((item, (*path, str(i))) for i, item in enumerate(node))
