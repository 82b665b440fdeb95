"""``madoguchi stats rebuild``: the statistics read model recomputed from Temporal.

Lists the installation's cases by visibility, reads each one's ``view`` query (the same
timeline the workflow derived its milestones from) and applies the same pure function
(``records.milestones.milestones_of``): the rebuilt table gives the same numbers, the
published CSV byte for byte. Runs offline of any request; never per page view.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from temporalio.client import Client

from forms.catalog import Catalog
from records.milestones import CaseFacts, Milestone, channel_of, disaster_event_of, milestones_of
from records.statistics import MilestoneStore
from workflows.models import ApplicationView

__all__ = ["milestones_of_view", "rebuild"]

QUERY = "WorkflowType = 'ProcedureWorkflow'"


def milestones_of_view(view: ApplicationView, standard_days: int,
                       copy_types: Collection[str] = ()) -> list[Milestone]:
    """A case's milestones from what its ``view`` query answers (``copy_types``: the
    definition's ``issue_on_submit``)."""
    facts = CaseFacts(application_id=view.application_id, procedure=view.procedure,
                      municipality=view.municipality, channel=channel_of(view),
                      disaster_event=disaster_event_of(view.data), standard_days=standard_days)
    copies = {d.id for d in view.documents if d.type in copy_types}
    return milestones_of(facts, view.timeline, view.status, copies=copies)


async def rebuild(client: Client, store: MilestoneStore, catalog: Catalog, *,
                  query: str = QUERY, progress: Callable[[int], None] | None = None) -> int:
    """Replace the read model with what Temporal holds; how many cases were read.

    :param query: a visibility query (default: every case of the namespace; a task queue
        clause narrows it to one installation).
    :param progress: called with the count of cases read so far, every 100 and at the end.
    """
    rows: list[Milestone] = []
    count = 0
    async for listed in client.list_workflows(query):
        view = await client.get_workflow_handle(listed.id).query(
            "view", result_type=ApplicationView)
        if view.purged:
            continue  # past retention: its rows stay as they were recorded
        definition = catalog.get(view.procedure, view.procedure_version,
                                 view.municipality).definition
        rows.extend(milestones_of_view(view, definition.processing_period.days,
                                       definition.issue_on_submit))
        count += 1
        if progress is not None and count % 100 == 0:
            progress(count)
    store.replace(rows)
    if progress is not None:
        progress(count)
    return count
