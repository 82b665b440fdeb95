"""Evaluating a life event: which procedures apply, what is prefilled, and each form.

One module for the one evaluation the portal (at submission) and the engine (when a
dependent procedure starts, in an activity) both make, so the two can never disagree on
what a bundle files. Everything here is deterministic: ``today`` is passed in.

The environment is the one :mod:`forms.lifeevents` describes; build it with
:func:`life_event_bindings` (``case`` from :func:`upstream_case` for a dependent).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from forms.dedupe import MissingHousehold, normalized
from forms.expressions import Bindings, ExpressionError, evaluate_with
from forms.lifeevents import Dependency, LifeEventDefinition, OfferedProcedure, PrefillSource
from forms.municipalities import Municipality
from forms.pointers import assign, escape, is_missing, resolve

__all__ = [
    "MissingHousehold",
    "bundle_material",
    "dependency_holds",
    "events_binding",
    "form_provenance",
    "is_eligible",
    "life_event_bindings",
    "map_form",
    "prefill_values",
    "typed_stand_ins",
    "upstream_case",
]


def events_binding(municipality: Municipality | None) -> dict[str, Any]:
    """The municipality's disaster events as expressions read them (``events``)."""
    if municipality is None:
        return {}
    return {e.id: {"date": e.date.isoformat(), "name": e.name.model_dump()}
            for e in municipality.disaster_events}


def upstream_case(report: Mapping[str, Any]) -> dict[str, Any]:
    """``case`` of a dependent's expressions from an upstream case's report.

    Takes a :class:`workflows.models.CaseReport` dumped as JSON (``step_data``) or the
    examples' form (``steps``); ``documents`` become the list of the document types issued.
    """
    documents = report.get("documents") or []
    return {
        "status": report.get("status"),
        "data": dict(report.get("data") or {}),
        "steps": dict(report.get("steps") or report.get("step_data") or {}),
        "computed": dict(report.get("computed") or {}),
        "documents": [d.get("type") if isinstance(d, Mapping) else d for d in documents],
    }


def life_event_bindings(
    definition: LifeEventDefinition, *, answers: Mapping[str, Any],
    applicant: Mapping[str, Any], household: Mapping[str, Any],
    account: Mapping[str, Any] | None, events: Mapping[str, Any], today: dt.date | str,
    case: Mapping[str, Any] | None = None,
) -> Bindings:
    """The values a life event's expressions see (``params`` from ``definition``, which
    carries the municipality's overlay when it is the effective definition)."""
    return Bindings(data=answers, params=definition.params, today=today, events=events,
                    applicant=applicant, household=household, account=account, case=case)


def is_eligible(offered: OfferedProcedure, bindings: Bindings) -> bool:
    """Whether the life event offers ``offered`` on these values. An expression that
    cannot be evaluated (a value it needs is missing) does not offer it: eligibility that
    cannot be shown is not granted."""
    try:
        return evaluate_with(offered.eligible, bindings) is True
    except ExpressionError:
        return False


def dependency_holds(dependency: Dependency, bindings: Bindings) -> bool:
    """Whether a dependent procedure is filed on its upstream case (``case`` bound).

    :raises ExpressionError: if ``when`` cannot be evaluated on the reported case (a
        defect of the definition the caller reports, not a "no").
    """
    return evaluate_with(dependency.when, bindings) is True


def map_form(offered: OfferedProcedure, bindings: Bindings) -> dict[str, Any]:
    """The procedure's form from the shared answers: each ``form`` pointer gets its
    expression's value (a null result leaves the field out), in the order written.

    :raises ExpressionError: naming the pointer whose expression could not be evaluated.
    """
    form: dict[str, Any] = {}
    for pointer, text in offered.form.items():
        try:
            value = evaluate_with(text, bindings)
        except ExpressionError as exc:
            raise ExpressionError(f"{offered.procedure} form {pointer}: {exc}") from None
        if value is not None:
            assign(form, pointer, value)
    return form


def prefill_values(definition: LifeEventDefinition, bindings: Bindings,
                   sources: frozenset[PrefillSource] = frozenset({"card", "registry", "account"}),
                   ) -> dict[str, tuple[Any, PrefillSource]]:
    """Pointer -> (value, source) of every prefill rule whose source is available and whose
    expression gives a value (null, or an error on missing values, prefills nothing)."""
    found: dict[str, tuple[Any, PrefillSource]] = {}
    for pointer, rule in definition.prefill.items():
        if rule.source not in sources:
            continue
        try:
            value = evaluate_with(rule.value, bindings)
        except ExpressionError:
            continue
        if value is not None:
            found[pointer] = (value, rule.source)
    return found


_DATA_PATH = re.compile(
    r"^\s*(data|household|applicant|account)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$")


def form_provenance(offered: OfferedProcedure, answers: Mapping[str, str], *,
                    household_verified: bool) -> dict[str, str]:
    """Where each value of a procedure's mapped form came from, as the case records it.

    A form value copied from the answers (``data.a.b``) takes the provenance of those
    answers (``answers``: questionnaire pointer -> provenance); one read straight from the
    registry (``household...``) is ``registry`` (``unverified`` when the registry could not
    be read), from the sign-in (``applicant...``) ``card``, from ``account`` ``account``.
    Computed values (any other expression) record nothing: they are the procedure's own.
    """
    found: dict[str, str] = {}
    for target, text in offered.form.items():
        match = _DATA_PATH.match(text)
        if match is None:
            continue
        root, path = match.group(1), [p for p in match.group(2).split(".") if p]
        if root != "data":
            found[target] = {"household": "registry" if household_verified else "unverified",
                             "applicant": "card", "account": "account"}[root]
            continue
        source = "".join(f"/{escape(p)}" for p in path)
        for pointer, provenance in answers.items():
            if pointer == source or pointer.startswith(source + "/"):
                found[target.rstrip("/") + pointer[len(source):]] = provenance
            elif source.startswith(pointer + "/"):
                found[target] = provenance
    return found


def bundle_material(definition: LifeEventDefinition, municipality: str, answers: Mapping[str, Any],
                    *, applicant_key: str, household_id: str | None,
                    address: str | None) -> str:
    """Canonical JSON of what makes two bundles of a life event the same one (HMAC it into
    the bundle id; it holds personal data). Scope ``household``: the registry's household
    id, else the verified registered address (as :mod:`forms.dedupe` does); the answer at
    ``event_field`` (one bundle per household per disaster) and the rule's ``fields``.

    :raises MissingHousehold: scope ``household`` with neither a household id nor an address.
    """
    rule = definition.dedupe
    fields: dict[str, Any] = {}
    for pointer in ([definition.event_field] if definition.event_field else []) + rule.fields:
        value = resolve(dict(answers), pointer)
        value = None if is_missing(value) else value
        fields[pointer] = normalized(value) if rule.normalize else value
    material: dict[str, Any] = {"life_event": definition.id, "municipality": municipality,
                                "fields": fields, "scope": rule.scope}
    if rule.scope == "household":
        if household_id:
            material["household"] = household_id
        elif address:
            material["address"] = normalized(address)
        else:
            raise MissingHousehold("no household id and no verified address")
    elif rule.scope != "municipality":
        material["applicant"] = applicant_key
    return json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def typed_stand_ins(definition: LifeEventDefinition, source: PrefillSource, root: str,
                    answers: Mapping[str, Any]) -> dict[str, Any]:
    """What the resident typed where a prefill rule of ``source`` reads ``root.<key>``: when
    that system could not be read, these values stand in for it (e.g. ``household.size``
    from the typed ``/household_size``), and are recorded as not verified."""
    found: dict[str, Any] = {}
    for pointer, rule in definition.prefill.items():
        text = rule.value.strip()
        if rule.source != source or not text.startswith(root + "."):
            continue
        key = text[len(root) + 1:]
        value = resolve(dict(answers), pointer)
        if key.isidentifier() and not is_missing(value):
            found[key] = value
    return found
