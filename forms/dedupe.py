"""What makes two applications "the same one", as the material of the workflow id.

The portal HMACs the string returned here into the workflow id, so Temporal itself refuses
a second application for the same thing (one household, one certificate per disaster). The
material holds personal data (the applicant key, form values): it must never be logged or
used as an id without that keyed hash.
"""

from __future__ import annotations

import json

from forms.definition import ProcedureDefinition
from forms.pointers import is_missing, resolve

__all__ = ["dedupe_material"]


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
        value = resolve(data, pointer)
        fields[pointer] = None if is_missing(value) else value
    material = {
        "procedure": definition.id,
        "municipality": municipality,
        "applicant": applicant_key,
        "fields": fields,
    }
    return json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
