"""What a case spends evaluating its procedure's expressions, in-process (no server).

    .venv/bin/python -m benchmarks.expressions [--rounds 7] [--reps 200]

For each shipped procedure that uses expressions: its eligibility rules on the first
``examples/valid-*.json`` and every computation, route and declared value of its actions
with the package's step examples — everything a case evaluates from filing to decision.
Reports the median CPU seconds per case over ``rounds`` (each ``reps`` cases, the first
evaluations, which compile and warm cel-python, excluded). ``benchmarks.engine`` prints it
beside a case's measured CPU, as a share (goal ≤ 2 %).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from typing import Any

from forms.catalog import Catalog
from forms.compute import compute_action, included_values, route_of
from forms.filing import eligibility_errors
from forms.municipalities import load_municipalities
from forms.packages import Procedure

TODAY = dt.date(2026, 12, 1)


def _examples(procedure: Procedure) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    folder = procedure.directory / "examples"
    data = json.loads(next(iter(sorted(folder.glob("valid-*.json")))).read_text("utf-8"))
    steps = {p.stem.removeprefix("step-"): json.loads(p.read_text("utf-8"))
             for p in folder.glob("step-*.json")}
    return data, steps


def one_case(procedure: Procedure, data: dict[str, Any], step_inputs: dict[str, Any]) -> None:
    """Everything a case of ``procedure`` evaluates, in the order a case does."""
    definition = procedure.definition
    eligibility_errors(procedure, data, TODAY, municipality=_MUNICIPALITY,
                       applicant={"kind": definition.applicant})
    steps: dict[str, Any] = {}
    computed: dict[str, Any] = {}
    for stage in definition.stages:
        for action in stage.actions:
            if action.kind != "transition":
                continue
            given = step_inputs.get(action.id, {})
            if action.compute:
                computed.update(compute_action(definition, action, given, application=data,
                                               steps=steps, computed=computed, today=TODAY))
            steps[action.id] = given
            if action.routes:
                route_of(definition, action, application=data, steps=steps,
                         computed=computed, today=TODAY)
    for rule in [*definition.notices.values(), *definition.documents]:
        included_values(definition, rule.include, application=data, steps=steps,
                        computed=computed, today=TODAY)


_MUNICIPALITY = load_municipalities()["131016"]


def uses_expressions(procedure: Procedure) -> bool:
    definition = procedure.definition
    return bool(definition.eligibility) or any(
        c.is_expression or a.routes
        for s in definition.stages for a in s.actions for c in a.compute.values())


def measure(rounds: int = 7, reps: int = 200) -> dict[str, float]:
    """Median CPU seconds per case, by procedure id."""
    catalog = Catalog.load()
    result: dict[str, float] = {}
    for procedure_id in sorted({p.id for p in catalog.procedures()}):
        procedure = catalog.get(procedure_id)
        if not uses_expressions(procedure):
            continue
        data, steps = _examples(procedure)
        one_case(procedure, data, steps)  # compile and warm up
        samples = []
        for _ in range(rounds):
            start = time.process_time()
            for _ in range(reps):
                one_case(procedure, data, steps)
            samples.append((time.process_time() - start) / reps)
        samples.sort()
        result[procedure_id] = samples[len(samples) // 2]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    for procedure_id, seconds in measure(args.rounds, args.reps).items():
        print(f"{procedure_id:24s} {seconds * 1000:7.3f} ms CPU per case (median)")


if __name__ == "__main__":
    main()
