"""A direct filing that a life-event bundle already holds (the 葬祭費 of one deceased).

A bundle files its cases under ids derived from the bundle (``<bundle>-<procedure>``), not
from the procedure's own dedupe key, so Temporal alone would let a second relative file the
same procedure directly after the bundle. For a life event deduplicated by what the form
itself says (scope ``municipality``: e.g. the deceased's name and birth date), the bundle's
id can be derived from the direct filing's data whenever the life event copies those
answers unchanged into the procedure's form; that bundle's case, if it exists and is not
freed (withdrawn, rejected), makes the direct filing a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from forms.catalog import Catalog
from forms.lifeevents_mapping import bundle_material
from forms.pointers import assign, is_missing, resolve, segments
from services.keys import ApplicantKeys
from workflows.life_event import member_application_id

__all__ = ["bundle_cases_for"]


def _copied(offered_form: dict[str, str], pointer: str) -> bool:
    """Whether the life event maps the answer at ``pointer`` unchanged to the same pointer."""
    return offered_form.get(pointer, "").strip() == "data." + ".".join(segments(pointer))


def bundle_cases_for(catalog: Catalog, keys: ApplicantKeys, procedure_id: str,
                     municipality: str, data: dict[str, Any]) -> Iterator[str]:
    """The ids a bundle would have filed this same application under (first filing)."""
    for event in catalog.life_events(municipality):
        definition = event.definition
        offered = definition.offered(procedure_id)
        rule = definition.dedupe
        if offered is None or rule.scope != "municipality" or definition.event_field:
            continue
        if not all(_copied(offered.form, p) for p in rule.fields):
            continue
        answers: dict[str, Any] = {}
        for pointer in rule.fields:
            value = resolve(data, pointer)
            if is_missing(value):
                break
            assign(answers, pointer, value)
        else:
            material = bundle_material(definition, municipality, answers, applicant_key="",
                                       household_id=None, address=None)
            yield member_application_id(keys.bundle_id(material), procedure_id)
