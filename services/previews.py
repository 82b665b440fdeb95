"""What an action would do, shown before a caseworker confirms it; what a correction changed.

Side-effect free: nothing here sends an Update, writes a record or starts an activity.

- :func:`preview_action` evaluates the action's computations (``compute`` in the
  procedure) with the same function the workflow calls (:func:`forms.compute.compute_action`)
  on the case's current data and the entered input, so the confirmation page shows the
  damage grade or the grant amount the case will record if the caseworker confirms.
- :func:`case_history` reads the case's own history (the application as filed and each
  correction sent since, who acted) for the answers the last correction changed and the
  names of the caseworkers who acted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from jsonpointer import JsonPointerException
from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType

from forms.compute import compute_action
from forms.definition import ActionDefinition
from forms.packages import Procedure
from services.cases import CaseService
from services.refusals import Refused
from workflows.models import (
    ActionRequest,
    ApplicationView,
    RevocationRequest,
    StartApplication,
)
from workflows.procedure import jst_date

__all__ = ["CaseHistory", "Change", "case_history", "diff_data", "preview_action"]

def preview_action(procedure: Procedure, view: ApplicationView, action: ActionDefinition,
                   data: Mapping[str, Any] | None, *, now: dt.datetime) -> dict[str, Any]:
    """The values ``action`` would compute if taken now with input ``data``.

    :param procedure: the case's pinned procedure (``CaseService.pinned(view)``).
    :param view: the case as it is now (its application, step data and computed values).
    :param action: the action of the case's stage the caseworker is about to take.
    :param data: the action's input (already valid against its schema), or None.
    :param now: the moment to evaluate at (the workflow uses its own clock; a preview
        just before the confirmation is the same day except across midnight in Japan).
    :raises Refused: ``invalid`` when the computation cannot use the input (the workflow
        would refuse the action for the same reason).
    """
    if not action.compute:
        return {}
    try:
        return compute_action(
            procedure.definition, action, dict(data or {}), application=view.data,
            steps=view.step_data, computed=view.computed, today=jst_date(now))
    except (KeyError, ValueError, TypeError, JsonPointerException) as exc:
        raise Refused("invalid", "computation_failed",
                      "入力された内容では算定できません。入力を確かめてください。",
                      "The values cannot be computed from this input: check it.") from exc


class Change(BaseModel):
    """One answer a correction changed: its JSON pointer, the value before and after."""

    pointer: str
    before: Any = None
    after: Any = None


def diff_data(before: Any, after: Any, pointer: str = "") -> list[Change]:
    """The leaves that differ between two JSON documents, in document order (an added or
    removed object is listed by its leaves, so each reads under its field's label)."""
    if isinstance(before, dict) and after is None:
        after = {}
    elif isinstance(after, dict) and before is None:
        before = {}
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        for key in list(before) + [k for k in after if k not in before]:
            path = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
            changes += diff_data(before.get(key), after.get(key), path)
        return changes
    if isinstance(before, list) and isinstance(after, list) and not _leaf_list(before, after):
        changes = []
        for index in range(max(len(before), len(after))):
            changes += diff_data(before[index] if index < len(before) else None,
                                 after[index] if index < len(after) else None,
                                 f"{pointer}/{index}")
        return changes
    return [] if before == after else [Change(pointer=pointer, before=before, after=after)]


def _leaf_list(before: list, after: list) -> bool:
    """A list of plain values (attachment ids, chosen options) compares as one value."""
    return all(not isinstance(v, dict | list) for v in before + after)


class CaseHistory(BaseModel):
    """What a case's history tells a caseworker beyond its view."""

    names: dict[str, str] = {}  # caseworker subject -> the name they signed in with
    changes: list[Change] | None = None  # what the last correction of the form changed


async def case_history(cases: CaseService, view: ApplicationView) -> CaseHistory:
    """Staff names and the last correction's changes, from the case's own history.

    The history is the record of what was filed and sent since (the view holds only the
    data as it is now, and caseworkers by id). Reading it sends nothing to the case. The
    caller has already been allowed to see ``view`` (``CaseService.details``).
    ``changes`` is None when no correction of the form has come back (a step's correction,
    such as a grant's report, leaves the application as filed).
    """
    procedure = cases.pinned(view)
    required = set(procedure.form_schema.get("required", []))
    client = cases._client  # the services' own client; the portal never sees it
    history = await client.get_workflow_handle(view.application_id).fetch_history()
    names: dict[str, str] = {}
    versions: list[dict[str, Any]] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            (start,) = await client.data_converter.decode(payloads, [StartApplication])
            versions.append(dict(start.data))
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            accepted = event.workflow_execution_update_accepted_event_attributes.accepted_request
            hint = {"act": ActionRequest, "revoke": RevocationRequest}.get(accepted.input.name)
            if hint is None:
                continue
            (request,) = await client.data_converter.decode(accepted.input.args.payloads,
                                                            [hint])
            if request.actor.kind == "caseworker" and request.actor.name:
                names[request.actor.subject] = request.actor.name
            if (isinstance(request, ActionRequest) and request.action == "submit_correction"
                    and isinstance(request.data, dict) and required <= set(request.data)):
                versions.append(dict(request.data))  # the form, not a step's input
    # The last version the case holds now (an accepted correction may still be refused by
    # a later check, and then the case kept what it had).
    held = [i for i, v in enumerate(versions) if v == view.data and i > 0]
    changes = diff_data(versions[held[-1] - 1], versions[held[-1]]) if held else None
    return CaseHistory(names=names, changes=changes)
