"""Validating data against a JSON Schema: every problem at once, as localized field errors.

Validation never raises for bad *data*: it returns a :class:`ValidationResult` listing the
problems, each with the JSON pointer of the field, a code (the JSON Schema keyword that
failed, or our own such as ``maxDepth``) and a message in Japanese and English built from
the field's title (see :mod:`forms.texts`).

The engine's input limits (:mod:`forms.limits`) are checked first, so an oversized or
too-deep value is reported without being validated item by item. At most
:data:`MAX_ERRORS` errors are listed; when there are more, the last entry has the code
``more_errors`` (its message says how many were left out) and :attr:`ValidationResult.omitted`
counts them.

This module exists for the checks that need only a schema and the data; the checks of a
filing that need the municipality and the uploaded files are in :mod:`forms.filing`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaValidationError
from pydantic import BaseModel, ConfigDict
from referencing import Registry

from forms.limits import screen
from forms.pointers import to_pointer
from forms.schemas import chain_at, common_registry, format_checker
from forms.texts import message

__all__ = [
    "MAX_ERRORS",
    "FieldError",
    "ValidationResult",
    "capped",
    "schema_errors",
    "validate_data",
]

#: The most field errors a result lists (a final ``more_errors`` entry counts the rest).
MAX_ERRORS = 50


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
    omitted: int = 0
    """Errors left out after the first :data:`MAX_ERRORS`; when positive, the last entry
    of :attr:`errors` has the code ``more_errors`` and says how many."""

    def paths(self) -> set[str]:
        """The pointers that have at least one error."""
        return {e.path for e in self.errors}


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
            chain = chain_at(schema, where, registry)
            yield FieldError(
                path=to_pointer(where), code=code, message=message(code, where, chain, messages)
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
                chain = chain_at(schema, where, registry)
                yield FieldError(
                    path=to_pointer(where),
                    code=code,
                    message=message(code, where, chain, messages),
                )
        return
    if code == "additionalProperties" and isinstance(error.instance, dict):
        for name in _additional(error.instance, error.schema):
            where = [*path, name]
            yield FieldError(
                path=to_pointer(where), code=code, message=message(code, where, [], messages)
            )
        return
    chain = chain_at(schema, path, registry)
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
        message=message(
            code, path, chain, messages, variant=variant, limit=limit, type_name=type_name
        ),
    )


def capped(errors: list[FieldError]) -> tuple[list[FieldError], int]:
    """The first :data:`MAX_ERRORS` of ``errors`` and a ``more_errors`` entry for the rest,
    with the number left out."""
    if len(errors) <= MAX_ERRORS:
        return errors, 0
    omitted = len(errors) - MAX_ERRORS
    more = FieldError(
        path="", code="more_errors", message=message("more_errors", [], [], {}, limit=omitted)
    )
    return [*errors[:MAX_ERRORS], more], omitted


def _inside(path: list[str | int], cut: Iterable[tuple[str | int, ...]]) -> bool:
    return any(tuple(path[: len(where)]) == where for where in cut)


def schema_errors(
    schema: dict,
    data: object,
    *,
    messages: Mapping[str, Mapping[str, str]] | None = None,
    registry: Registry | None = None,
) -> list[FieldError]:
    """Every error of ``data`` against ``schema``, limits first, sorted by path then code
    and not capped (see :func:`validate_data`)."""
    registry = common_registry() if registry is None else registry
    messages = messages or {}
    screened = screen(schema, data, registry)
    errors: dict[tuple[str, str], FieldError] = {}
    for breach in screened.breaches:
        path = list(breach.path)
        error = FieldError(
            path=to_pointer(path),
            code=breach.code,
            message=message(breach.code, path, breach.chain, messages, limit=breach.limit),
        )
        errors.setdefault((error.path, error.code), error)
    validator = Draft202012Validator(schema, registry=registry, format_checker=format_checker())
    for error in validator.iter_errors(screened.data):
        for field_error in _field_errors(error, schema, registry, messages):
            if screened.cut and _inside(list(error.absolute_path), screened.cut):
                continue  # about the cut copy, not what was sent
            errors.setdefault((field_error.path, field_error.code), field_error)
    return [errors[key] for key in sorted(errors)]


def validate_data(
    schema: dict,
    data: object,
    *,
    messages: Mapping[str, Mapping[str, str]] | None = None,
    registry: Registry | None = None,
) -> ValidationResult:
    """Validate ``data`` against a 2020-12 ``schema`` and report every error at once.

    The input limits (:mod:`forms.limits`) are checked first; a value beyond them is
    reported once and not validated item by item.

    :param schema: a JSON Schema already checked by the catalogue (an invalid schema
        raises :class:`jsonschema.exceptions.SchemaError` or ``referencing`` errors).
    :param messages: the procedure's ``{"ja": {...}, "en": {...}}`` texts, for field
        titles (``field.<pointer>``) and error texts (``error.<code>``).
    :param registry: the shared schemas ``$ref`` may name; defaults to ``forms/common``.
    :returns: errors sorted by path then code, at most :data:`MAX_ERRORS` of them (see
        :attr:`ValidationResult.omitted`); a missing property is reported at its own
        pointer (``/applicant/phone``), an unexpected one likewise.
    """
    errors, omitted = capped(schema_errors(schema, data, messages=messages, registry=registry))
    return ValidationResult(valid=not errors, errors=errors, omitted=omitted)
