"""What makes two applications "the same one", as the material of the workflow id.

The portal HMACs the string returned here into the workflow id, so Temporal itself refuses
a second application for the same thing (one household, one certificate per disaster). The
material holds personal data (the applicant key, an address, form values): it must never
be logged or used as an id without that keyed hash.

A procedure's ``dedupe`` names a scope (:data:`forms.definition.DedupeScope`):

``applicant``     the signed-in applicant's pseudonymous key (the default);
``subject``       the person the application is about: the represented person of a proxy
                  filing (name reading and date of birth), else the applicant's own verified
                  reading and date of birth (so a parent filing herself and her son filing
                  for her are one subject), else the applicant key;
``household``     the registered address of the verified sign-in (住民票の住所: the same for
                  spouses); a sign-in without an address cannot file such a procedure;
``municipality``  nothing but the ``fields`` values (one per property, whoever files).
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from pydantic import BaseModel, ConfigDict

from forms.definition import ProcedureDefinition
from forms.pointers import is_missing, resolve

__all__ = ["DedupeParty", "MissingHousehold", "dedupe_material", "normalized"]


class DedupeParty(BaseModel):
    """Who files, as far as dedupe needs it: verified claims and the proxy's declaration."""

    model_config = ConfigDict(frozen=True)

    applicant_key: str
    address: str | None = None  # the verified registered address (住所), if the sign-in has it
    reading: str | None = None  # the verified name reading (or name) of the applicant
    birthdate: str | None = None  # ISO date, verified
    represented: dict[str, Any] | None = None  # a proxy filing's 本人 (name, kana, birthdate)


class MissingHousehold(ValueError):
    """The procedure is one per household, and the sign-in names no registered address."""


def normalized(value: Any) -> Any:
    """Texts compared as a person would: NFKC (全角英数 → 半角), case folded, no spaces."""
    if isinstance(value, str):
        return "".join(unicodedata.normalize("NFKC", value).casefold().split())
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    return value


def _subject(party: DedupeParty) -> dict[str, Any]:
    person = party.represented
    if person is not None:
        reading = person.get("name_kana") or person.get("name")
        return {"person": normalized([reading, str(person.get("birthdate"))])}
    if party.reading and party.birthdate:
        return {"person": normalized([party.reading, party.birthdate])}
    return {"applicant": party.applicant_key}


def dedupe_material(
    definition: ProcedureDefinition, municipality: str, party: DedupeParty | str, data: dict
) -> str:
    """Canonical JSON of what identifies an application under the procedure's dedupe rule.

    The result is a JSON object with sorted keys and no whitespace holding the procedure
    id, the municipality code, the scope's key and the values found at
    ``definition.dedupe.fields`` (``null`` where absent), so it is the same whatever the
    key order of ``data``. The procedure *version* is deliberately left out: a new
    catalogue version must not allow a second application for the same thing. The
    default rule (scope ``applicant``, no normalizing) gives the same material as before
    scopes existed, so cases in progress keep their keys.

    :param party: who files (a bare applicant key is taken as scope ``applicant`` needs).
    :raises MissingHousehold: scope ``household`` and no verified address.
    :raises TypeError: if a deduplicated value is not JSON-serialisable.
    """
    rule = definition.dedupe
    if isinstance(party, str):
        party = DedupeParty(applicant_key=party)
    fields = {}
    for pointer in rule.fields:
        value = resolve(data, pointer)
        value = None if is_missing(value) else value
        fields[pointer] = normalized(value) if rule.normalize else value
    material: dict[str, Any] = {
        "procedure": definition.id,
        "municipality": municipality,
        "fields": fields,
    }
    if rule.scope == "applicant":
        material["applicant"] = party.applicant_key
    elif rule.scope == "subject":
        material["subject"] = _subject(party)
    elif rule.scope == "household":
        if not party.address:
            raise MissingHousehold("no verified address")
        material["household"] = normalized(party.address)
    if rule.scope != "applicant" or rule.normalize:
        material["scope"] = rule.scope
    return json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
