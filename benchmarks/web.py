"""``python -m benchmarks.web --experiment NAME``: ``madoguchi web`` with a proposed change
applied in this process only, to measure it next to the unchanged web in the same run.

Experiments (each the runtime equivalent of a diff in docs/benchmarks.md, for the lead):

- ``no-readback``: filing answers from the start input instead of reading the new case back.
  Today ``POST /api/applications`` starts the workflow, then queries it twice
  (``CaseService.submit`` and the route's ``_read``); a query of a case whose first workflow
  task has not yet run waits for the worker, so intake latency is bounded by the workers.
"""

from __future__ import annotations

import argparse
import copy
from datetime import timedelta
from typing import Any

_RECENT: dict[str, Any] = {}


def initial_view(start: Any) -> Any:
    """The view ``ProcedureWorkflow.__init__`` produces, built from the start input."""
    from workflows.models import ApplicationView, TimelineEntry

    definition = start.definition
    stage = definition.initial_stage
    return ApplicationView(
        application_id=start.application_id,
        procedure=definition.id,
        procedure_version=definition.version,
        municipality=start.municipality,
        applicant_key=start.applicant.key,
        applicant_name=start.applicant.name,
        status="in_progress",
        stage=stage,
        assignee=None,
        submitted_at=start.submitted_at,
        due_at=start.submitted_at + timedelta(days=definition.processing_period.days),
        correction_due_at=None,
        correction_comment=None,
        data=dict(start.data),
        step_data={},
        computed={},
        actors={},
        escalated=False,
        documents=[],
        timeline=[
            TimelineEntry(at=start.submitted_at, event="submitted", stage=stage, actor="applicant")
        ],
        proxy=start.proxy,
        request_key=start.request_key,
    )


class _StartedHandle:
    def __init__(self, start: Any) -> None:
        self._start = start

    async def query(self, *_: Any, **__: Any) -> Any:
        view = initial_view(self._start)
        _RECENT[view.application_id] = view
        return view


class _NoReadbackClient:
    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def start_workflow(self, workflow: Any, start: Any, **options: Any) -> Any:
        await self._client.start_workflow(workflow, start, **options)
        return _StartedHandle(start)


def no_readback() -> None:
    from portal.api.routes import applications
    from portal.schemas import ApplicationOut
    from workflows.cases import CaseDetails, CaseService
    from workflows.rules import available_actions

    original_submit = CaseService.submit
    original_read = applications._read

    async def submit(self: CaseService, *args: Any, **kwargs: Any) -> Any:
        shadow = copy.copy(self)
        shadow._client = _NoReadbackClient(self._client)  # type: ignore[assignment]
        return await original_submit(shadow, *args, **kwargs)

    async def read(context: Any, principal: Any, application_id: str) -> Any:
        view = _RECENT.pop(application_id, None)
        if view is None:
            return await original_read(context, principal, application_id)
        definition = context.cases.procedure(
            view.procedure, view.procedure_version, view.municipality
        ).definition
        actions = available_actions(definition, view, context.cases.actor(principal))
        return ApplicationOut.build(CaseDetails(view=view, actions=actions), principal)

    CaseService.submit = submit  # type: ignore[method-assign]
    applications._read = read


EXPERIMENTS = {"no-readback": no_readback}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", choices=sorted(EXPERIMENTS), required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    EXPERIMENTS[args.experiment]()
    from madoguchi.serve import web

    web.main(["--port", str(args.port)], standalone_mode=True)


if __name__ == "__main__":
    main()
