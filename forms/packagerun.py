"""Running a loaded package on its examples, as ``madoguchi catalog check`` does.

Loading a package proves its files fit together; running it proves it works on real
data: every ``examples/valid-*.json`` must pass the form's validation and the
eligibility rules, every ``examples/invalid-*.json`` must be refused by them, and every
computation is run on each valid example, stage by stage in the definition's order, with
``examples/step-<action id>.json`` as the input of an action that takes one. What could
not be run is said, not hidden. This module exists so that the offline check and the
tests run a package exactly as a case would compute (through :mod:`forms.compute`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jsonpointer

from forms.compute import compute_action
from forms.filing import validate_application
from forms.pointers import escape
from forms.problems import UNREADABLE, CatalogProblem, ProblemLog
from forms.schemas import common_registry
from forms.validation import FieldError, validate_data

if TYPE_CHECKING:
    from forms.municipalities import Municipality
    from forms.packages import Procedure

__all__ = ["ExampleRun", "PackageRun", "run_package"]


@dataclass
class ExampleRun:
    """What one example did."""

    file: str
    """``<package>/examples/<name>``."""
    expected_valid: bool
    errors: list[FieldError] = field(default_factory=list)
    computed: dict[str, Any] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)
    """Computations not run, each with the reason."""

    @property
    def refused(self) -> bool:
        return bool(self.errors)


@dataclass
class PackageRun:
    examples: list[ExampleRun]
    problems: list[CatalogProblem]


def _label(procedure: Procedure) -> str:
    return procedure.directory.name


def run_package(
    procedure: Procedure, municipality: Municipality, today: dt.date
) -> PackageRun:
    """Run ``procedure``'s examples as filed with ``municipality`` on ``today``.

    Problems: a valid example refused, an invalid one accepted, a step example its
    action's schema refuses, a computation failing on an example (at the computation in
    ``procedure.json``).
    """
    log = ProblemLog(procedure.directory, _label(procedure))
    steps = _step_examples(procedure, log)
    applicant = _sign_in(procedure, log)
    runs: list[ExampleRun] = []
    folder = procedure.directory / "examples"
    for prefix, expected_valid in (("valid-", True), ("invalid-", False)):
        for path in sorted(folder.glob(f"{prefix}*.json")):
            relative = f"examples/{path.name}"
            data = log.read_json(relative)
            if data is UNREADABLE:
                continue
            run = ExampleRun(file=f"{log.label}/{relative}", expected_valid=expected_valid)
            runs.append(run)
            result = validate_application(procedure, municipality, data, today=today,
                                          applicant=applicant)
            run.errors = list(result.errors)
            if expected_valid and run.refused:
                for error in run.errors:
                    log.add(relative, error.path,
                            f"example is refused: {error.code}: {error.message['en']}")
            elif not expected_valid and not run.refused:
                log.add(relative, "", "example is accepted, but an invalid-* example must be "
                        "refused by the form or the eligibility rules")
            if expected_valid and not run.refused and isinstance(data, dict):
                _compute_all(procedure, data, steps, today, run, log, relative)
    return PackageRun(runs, log.items)


def _sign_in(procedure: Procedure, log: ProblemLog) -> dict[str, Any]:
    """The verified sign-in the examples are filed with (eligibility rules read it as
    ``applicant``): ``examples/sign-in.json`` if the package has one, else only its kind."""
    kind = procedure.definition.applicant
    claims: dict[str, Any] = {"kind": "resident" if kind == "any" else kind}
    relative = "examples/sign-in.json"
    if (procedure.directory / relative).is_file():
        found = log.read_json(relative)
        if isinstance(found, dict):
            claims.update(found)
        elif found is not UNREADABLE:
            log.add(relative, "", "must hold a JSON object of sign-in claims")
    return claims


def _step_examples(procedure: Procedure, log: ProblemLog) -> dict[str, dict]:
    """``examples/step-<action id>.json`` of actions taking an input, validated."""
    found: dict[str, dict] = {}
    for stage in procedure.definition.stages:
        for action in stage.actions:
            relative = f"examples/step-{action.id}.json"
            if action.input_schema is None or action.id in found:
                continue
            if not (procedure.directory / relative).is_file():
                continue
            data = log.read_json(relative)
            if data is UNREADABLE:
                continue
            result = validate_data(procedure.step_schemas[action.input_schema], data,
                                   messages=procedure.messages, registry=common_registry())
            for error in result.errors:
                log.add(relative, error.path,
                        f"step example does not validate: {error.code}: {error.message['en']}")
            if result.valid and isinstance(data, dict):
                found[action.id] = data
    return found


def _compute_all(
    procedure: Procedure,
    data: dict,
    step_examples: dict[str, dict],
    today: dt.date,
    run: ExampleRun,
    log: ProblemLog,
    relative: str,
) -> None:
    definition = procedure.definition
    steps: dict[str, Any] = {}
    computed: dict[str, Any] = {}
    missing: list[str] = []
    for s, stage in enumerate(definition.stages):
        for a, action in enumerate(stage.actions):
            if action.input_schema is not None and action.id not in step_examples:
                missing.append(f"examples/step-{action.id}.json")
                if action.compute:
                    run.not_run.extend(
                        f"{name}: needs examples/step-{action.id}.json" for name in action.compute)
                continue
            step_input = step_examples.get(action.id, {})
            if not action.compute:
                if action.input_schema is not None:
                    steps[action.id] = step_input
                continue
            if run.not_run:
                # An earlier value is missing: a failure here would blame the wrong rule.
                run.not_run.extend(f"{name}: an earlier computation was not run"
                                   for name in action.compute)
                continue
            try:
                values = compute_action(definition, action, step_input, application=data,
                                        steps=steps, computed=computed, today=today)
            except (KeyError, ValueError, TypeError, jsonpointer.JsonPointerException) as exc:
                names = ", ".join(action.compute)
                if missing:
                    # It may read a step input no example gives: say so, blame no rule.
                    run.not_run.extend(f"{name}: failed ({exc}); add {', '.join(missing)}"
                                       for name in action.compute)
                    continue
                log.add("procedure.json",
                        f"/stages/{s}/actions/{a}/compute/{escape(next(iter(action.compute)))}",
                        f"{names} failed on {relative}: {exc}")
                run.not_run.extend(f"{name}: failed" for name in action.compute)
                continue
            if action.input_schema is not None:
                steps[action.id] = step_input
            computed.update(values)
            run.computed.update(values)
