"""Municipality overlays: a local variant of a standard procedure, as data.

A municipality adopts a standard procedure as it is, or with an overlay file at
``<catalog root>/municipalities/<code>/overlays/<procedure-id>.json``::

    {
      "versions": ["1.0.0"],                  optional: the standard versions it applies to
      "procedure": {"processing_period": {"days": 20}},
      "form": {"properties": {"pet": {...}}},  JSON Merge Patch (RFC 7396) of form.schema.json
      "messages": {"ja": {...}, "en": {...}},  keys added or replaced (null removes)
      "contact": {"department": {"ja": ..., "en": ...}, "phone": "03-3264-1234", ...}
    }

``procedure`` is a merge patch of ``procedure.json`` limited to texts and deadlines
(:data:`PATCHABLE_PROCEDURE_KEYS`). ``form`` may add fields and change texts, but the
effective form must keep every standard required field required and every standard
field's type: :func:`form_problems` lists what an overlay broke, with the JSON pointer into
the overlay file where the offending change is written.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from referencing import Registry

from forms.municipalities import Contact
from forms.pointers import escape
from forms.pointers import segments as pointer_segments
from forms.schemas import iter_fields

__all__ = [
    "PATCHABLE_PROCEDURE_KEYS",
    "Contact",
    "Overlay",
    "form_problems",
    "merge_patch",
    "params_patch_problems",
    "procedure_patch_problems",
]

#: Top-level keys of ``procedure.json`` an overlay may change: texts, deadlines and the
#: values of declared ``params`` (a unit amount, a cap). Stages, roles, documents, rules
#: and the dedupe rule are the standard's and stay as they are.
PATCHABLE_PROCEDURE_KEYS = frozenset({"title", "processing_period", "correction", "params"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Overlay(_Strict):
    """One municipality's variant of one standard procedure (see the module docstring)."""

    versions: list[str] | None = Field(
        default=None, description="Standard versions it applies to; all when absent"
    )
    procedure: dict[str, Any] = Field(default_factory=dict)
    form: dict[str, Any] = Field(default_factory=dict)
    messages: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    contact: Contact | None = None

    def applies_to(self, version: str) -> bool:
        return self.versions is None or version in self.versions


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON Merge Patch (RFC 7396); ``target`` is not modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def procedure_patch_problems(patch: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(pointer in the patch, message)`` for keys an overlay may not change."""
    allowed = ", ".join(sorted(PATCHABLE_PROCEDURE_KEYS))
    for key in patch:
        if key not in PATCHABLE_PROCEDURE_KEYS:
            yield (
                f"/{escape(key)}",
                f"an overlay cannot change {key!r} of a standard procedure (it may change: "
                f"{allowed})",
            )


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "text", list: "list", dict: "object"}.get(type(value), "null")


def params_patch_problems(standard: dict[str, Any], patch: Any) -> Iterator[tuple[str, str]]:
    """``(pointer in the patch, message)`` for parameter changes an overlay may not make:
    it changes values of parameters the standard declares, keeping each one's kind, so
    the standard's expressions (checked against those) still fit."""
    if not isinstance(patch, dict):
        yield "/params", "'params' must be an object of parameter -> value"
        return
    for key, value in patch.items():
        where = f"/params/{escape(key)}"
        if key not in standard:
            known = ", ".join(sorted(standard)) or "none"
            yield where, f"the standard declares no parameter {key!r} (declared: {known})"
        elif value is None:
            yield where, f"an overlay cannot remove the parameter {key!r}"
        elif _json_kind(value) != _json_kind(standard[key]):
            yield where, (f"the parameter {key!r} is a {_json_kind(standard[key])}; an "
                          f"overlay cannot make it a {_json_kind(value)}")


def _type_of(chain: list[dict]) -> frozenset[str] | None:
    for node in chain:
        value = node.get("type")
        if isinstance(value, str):
            return frozenset({value})
        if isinstance(value, list):
            return frozenset(str(v) for v in value)
    return None


def _required_of(chain: list[dict]) -> set[str]:
    names: set[str] = set()
    for node in chain:
        required = node.get("required")
        if isinstance(required, list):
            names.update(str(n) for n in required)
    return names


def _schema_segments(data_pointer: str) -> list[str]:
    """The path in a form file of the field at ``data_pointer`` (``properties`` nesting)."""
    path: list[str] = []
    for part in pointer_segments(data_pointer):
        path += ["properties", part]
    return path


def _where(patch: dict[str, Any], segments: list[str]) -> str:
    """The deepest pointer into ``patch`` along ``segments``: where the change is written."""
    pointer, node = "", patch
    for segment in segments:
        if not isinstance(node, dict) or segment not in node:
            break
        pointer += "/" + escape(segment)
        node = node[segment]
    return pointer


def form_problems(
    standard: dict[str, Any],
    effective: dict[str, Any],
    patch: dict[str, Any],
    registry: Registry,
) -> list[tuple[str, str]]:
    """What an overlay's form patch broke: ``(pointer in the patch, message)``.

    Every field of the standard form keeps its type; every field the standard requires
    stays declared and required (at every depth, following ``$ref``).
    """
    problems: list[tuple[str, str]] = []
    effective_fields = dict(iter_fields(effective, registry))
    standard_fields = dict(iter_fields(standard, registry))
    for pointer, chain in standard_fields.items():
        new_chain = effective_fields.get(pointer)
        if new_chain is None:
            continue  # removed: reported below only if it was required
        old_type, new_type = _type_of(chain), _type_of(new_chain)
        if old_type is not None and old_type != new_type:
            segments = _schema_segments(pointer)
            where = _where(patch, [*segments, "type"]) or _where(patch, segments)
            shown = "/".join(sorted(new_type)) if new_type else "no type"
            problems.append(
                (
                    where,
                    f"the standard field {pointer or '/'} is of type "
                    f"{'/'.join(sorted(old_type))}; an overlay cannot change it (to {shown})",
                )
            )
            continue
        kept = _required_of(new_chain)
        for name in sorted(_required_of(chain)):
            child = f"{pointer}/{escape(name)}"
            segments = _schema_segments(pointer)
            if child not in effective_fields:
                where = _where(patch, _schema_segments(child))
                problems.append(
                    (
                        where,
                        f"the standard required field {child} cannot be removed by an overlay",
                    )
                )
            elif name not in kept:
                where = _where(patch, [*segments, "required"]) or _where(patch, segments)
                problems.append(
                    (
                        where,
                        f"the standard required field {child} must stay required in an overlay",
                    )
                )
    return problems
