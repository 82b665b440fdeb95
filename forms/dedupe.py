"""What makes two applications "the same one", as the material of the workflow id.

The portal HMACs the string returned here into the workflow id, so Temporal itself refuses
a second application for the same thing (one household, one certificate per disaster). The
material holds personal data (the applicant key, form values): it must never be logged or
used as an id without that keyed hash.
"""

from __future__ import annotations

import json

from forms.definition import ProcedureDefinition

__all__ = ["dedupe_material", "is_missing", "resolve_pointer"]

_MISSING = object()


def resolve_pointer(data: object, pointer: str) -> object:
    """The value at a JSON pointer (RFC 6901) in ``data``, or a private sentinel if absent.

    Array indices are honoured; ``"-"`` and out-of-range indices count as absent.

    :raises ValueError: if ``pointer`` is neither empty nor starts with ``/``.
    """
    if pointer == "":
        return data
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    current = data
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict):
            if token not in current:
                return _MISSING
            current = current[token]
        elif isinstance(current, list):
            if not token.isdecimal() or (token != "0" and token.startswith("0")):
                return _MISSING
            index = int(token)
            if index >= len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def is_missing(value: object) -> bool:
    """Whether ``value`` is the sentinel :func:`resolve_pointer` returns for an absent path."""
    return value is _MISSING


def dedupe_material(
    definition: ProcedureDefinition, municipality: str, applicant_key: str, data: dict
) -> str:
    """Canonical JSON of what identifies an application under the procedure's dedupe rule.

    The result is a JSON object with sorted keys and no whitespace holding the procedure
    id, the municipality code, the applicant key (a pseudonymous subject id) and the
    values found at ``definition.dedupe.fields`` (``null`` where absent), so it is the
    same whatever the key order of ``data``. The procedure *version* is deliberately left
    out: a new catalogue version must not allow a second application for the same thing.

    :raises TypeError: if a deduplicated value is not JSON-serialisable.
    """
    fields = {}
    for pointer in definition.dedupe.fields:
        value = resolve_pointer(data, pointer)
        fields[pointer] = None if value is _MISSING else value
    material = {
        "procedure": definition.id,
        "municipality": municipality,
        "applicant": applicant_key,
        "fields": fields,
    }
    return json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
