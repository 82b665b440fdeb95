"""What an action computes into a case's ``computed``: named computations and expressions.

One function, :func:`compute_action`, so that the workflow and the offline catalogue check
(and the tests comparing a procedure's versions) compute exactly alike. Deterministic and
sandbox-safe like :mod:`forms.computations` and :mod:`forms.expressions`: ``today`` is
passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import jsonpointer

from forms.computations import ComputationRegistry, default_registry
from forms.definition import ActionDefinition, ProcedureDefinition, Route
from forms.expressions import Bindings, ExpressionError, evaluate_with

__all__ = ["compute_action", "included_values", "route_of", "uses_expressions"]


def uses_expressions(action: ActionDefinition) -> bool:
    """Does the action compute anything with expressions?"""
    return any(c.is_expression for c in action.compute.values())


def compute_action(
    definition: ProcedureDefinition,
    action: ActionDefinition,
    data: Mapping[str, Any],
    *,
    application: Mapping[str, Any],
    steps: Mapping[str, Any],
    computed: Mapping[str, Any],
    today: dt.date | str,
    expressions: bool = True,
    registry: ComputationRegistry | None = None,
) -> dict[str, Any]:
    """The values ``action`` computes when taken with input ``data``.

    Named computations read the case document ``{"input", "application", "steps",
    "computed"}`` by JSON pointer; expressions read ``data`` (the application), ``steps``
    (with this action's input under its id), ``computed`` (with the values computed
    before, in this action too), ``params`` and ``today``. With ``expressions`` false,
    expression computations are skipped (a workflow replaying a history from before
    they existed).

    :raises KeyError, ValueError, TypeError, jsonpointer.JsonPointerException: when the
        inputs do not fit (:class:`forms.expressions.ExpressionError` is a ValueError).
    """
    registry = default_registry() if registry is None else registry
    document = {"input": data, "application": application, "steps": steps,
                "computed": computed}
    results: dict[str, Any] = {}
    for name, c in action.compute.items():
        if c.function is None:
            if expressions:
                results[name] = _expression(
                    definition, action, name, c.value, c.values, data,
                    application=application, steps=steps,
                    computed={**computed, **results}, today=today,
                )
            continue
        if c.input is not None:
            value: Any = jsonpointer.resolve_pointer(data, c.input)
        else:
            value = {key: jsonpointer.resolve_pointer(document, ptr, None)
                     for key, ptr in (c.inputs or {}).items()}
        results[name] = registry.compute(c.function, value, **c.params)
    return results


def _expression(
    definition: ProcedureDefinition,
    action: ActionDefinition,
    name: str,
    value: str | None,
    values: Mapping[str, str] | None,
    data: Mapping[str, Any],
    *,
    application: Mapping[str, Any],
    steps: Mapping[str, Any],
    computed: Mapping[str, Any],
    today: dt.date | str,
) -> Any:
    bindings = _bindings(definition, application, {**steps, action.id: dict(data)}, computed,
                         today)
    if value is not None:
        return evaluate_with(value, bindings)
    result: dict[str, Any] = {}
    for key, text in (values or {}).items():
        # Later keys read earlier ones as computed.<name>.<key>.
        result[key] = evaluate_with(
            text, bindings.with_computed({**computed, name: dict(result)}))
    return result


def _bindings(definition: ProcedureDefinition, application: Mapping[str, Any],
              steps: Mapping[str, Any], computed: Mapping[str, Any],
              today: dt.date | str) -> Bindings:
    return Bindings(data=application, steps=steps, computed=computed,
                    params=definition.params, today=today)


def route_of(
    definition: ProcedureDefinition,
    action: ActionDefinition,
    *,
    application: Mapping[str, Any],
    steps: Mapping[str, Any],
    computed: Mapping[str, Any],
    today: dt.date | str,
) -> Route:
    """Where ``action`` leads now: the first of its ``routes`` whose ``when`` is true (it
    sees ``steps`` and ``computed`` with this action's input and results), else the
    action's own ``to``/``outcome``/``issue``/``notify`` as a route.

    :raises forms.expressions.ExpressionError: a ``when`` cannot be evaluated, or is not
        a boolean (the action is refused: a case never takes a route by accident).
    """
    if action.routes:
        bindings = _bindings(definition, application, steps, computed, today)
        for route in action.routes:
            taken = evaluate_with(route.when, bindings)
            if not isinstance(taken, bool):
                raise ExpressionError(f"route condition {route.when!r} gave {taken!r}, "
                                      "not true or false")
            if taken:
                return route
    return Route(when="true", to=action.to, outcome=action.outcome, issue=action.issue,
                 notify=action.notify)


def included_values(
    definition: ProcedureDefinition,
    include: Mapping[str, str],
    *,
    application: Mapping[str, Any],
    steps: Mapping[str, Any],
    computed: Mapping[str, Any],
    today: dt.date | str,
) -> tuple[dict[str, Any], list[str]]:
    """The declared ``include`` values of a notice or document, and the names that could
    not be evaluated (their value is ``None``: a notice is never lost for a value; the
    catalogue check finds such expressions before any case runs them)."""
    if not include:
        return {}, []
    bindings = _bindings(definition, application, steps, computed, today)
    values: dict[str, Any] = {}
    failed: list[str] = []
    for name, text in include.items():
        try:
            values[name] = evaluate_with(text, bindings)
        except ExpressionError:
            values[name] = None
            failed.append(name)
    return values, failed
