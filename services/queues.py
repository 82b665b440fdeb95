"""Lists of cases: visibility queries over search attributes that hold no personal data."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel
from temporalio.client import Client

from services.refusals import Refused
from workflows import search_attributes as sa

#: The municipality's pending work (「未処理の案件」). Not ``awaiting_applicant``: a case in an
#: applicant's own stage (an issued 罹災証明書 open for a re-survey request, a grant waiting
#: for its 実績報告) has nothing for staff to do until the applicant acts, which puts it
#: back to ``in_progress``. Not the finished ones either (they stay running through their
#: retention period).
OPEN_STATUSES = ("in_progress", "awaiting_correction", "issuing")
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


class CaseSummary(BaseModel):
    """A row of a list or queue: search attributes only, no personal data."""

    id: str
    procedure: str | None
    municipality: str | None
    stage: str | None
    status: str | None
    assignee: str | None
    due_at: datetime | None
    started_at: datetime | None
    closed_at: datetime | None = None


class CaseFilter(BaseModel, frozen=True):
    """Whose cases (one applicant, or some municipalities) and which of them."""

    applicant_key: str | None = None
    municipalities: tuple[str, ...] = ()
    procedure: str | None = None
    stage: str | None = None
    assignee: str | None = None
    open_only: bool = False
    #: Per municipality, only these procedures (a department's queue); empty: no limit.
    departments: tuple[tuple[str, tuple[str, ...]], ...] = ()


def visibility_query(selection: CaseFilter) -> str:
    """The list query for ``selection``; every value is checked, never spliced raw.

    :raises Refused: ``invalid`` for a value that is not a plain identifier.
    """
    clauses = ["WorkflowType = 'ProcedureWorkflow'"]
    if selection.applicant_key is not None:
        clauses.append(_eq(sa.APPLICANT.name, selection.applicant_key))
    elif selection.departments:
        clauses.append("(" + " OR ".join(
            f"({_eq(sa.MUNICIPALITY.name, code)} AND {sa.PROCEDURE.name} IN "
            f"({', '.join(_quote(p) for p in procedures)}))"
            for code, procedures in selection.departments if procedures) + ")")
    else:
        codes = ", ".join(_quote(c) for c in sorted(selection.municipalities))
        clauses.append(f"{sa.MUNICIPALITY.name} IN ({codes})")
    for attr, value in ((sa.PROCEDURE, selection.procedure), (sa.STAGE, selection.stage),
                        (sa.ASSIGNEE, selection.assignee)):
        if value:
            clauses.append(_eq(attr.name, value))
    if selection.open_only:
        # Not ExecutionStatus: a finished case stays running through its retention.
        statuses = ", ".join(_quote(s) for s in OPEN_STATUSES)
        clauses.append(f"{sa.STATUS.name} IN ({statuses})")
    # No ORDER BY: SQL visibility (dev server, PostgreSQL) does not support it.
    return " AND ".join(clauses)


async def list_cases(client: Client, selection: CaseFilter,
                     limit: int = 200) -> list[CaseSummary]:
    """The selected cases, newest first."""
    if selection.departments and not any(p for _, p in selection.departments):
        return []  # the departments asked for work no procedure here
    rows: list[CaseSummary] = []
    async for wf in client.list_workflows(visibility_query(selection), limit=limit):
        attrs = wf.typed_search_attributes
        rows.append(CaseSummary(
            id=wf.id, procedure=attrs.get(sa.PROCEDURE),
            municipality=attrs.get(sa.MUNICIPALITY), stage=attrs.get(sa.STAGE),
            status=attrs.get(sa.STATUS), assignee=attrs.get(sa.ASSIGNEE),
            due_at=attrs.get(sa.DUE_AT), started_at=wf.start_time, closed_at=wf.close_time,
        ))
    return sorted(rows, key=lambda r: r.started_at or datetime.min.replace(tzinfo=UTC),
                  reverse=True)


def safe_id(value: str) -> bool:
    """Whether ``value`` can be an id of ours (anything else cannot name a case)."""
    return bool(_SAFE_VALUE.match(value))


def _quote(value: str) -> str:
    if not _SAFE_VALUE.match(value):
        raise Refused("invalid", "invalid_filter", "検索条件が正しくありません。",
                      f"Invalid filter value {value!r}.")
    return f"'{value}'"


def _eq(name: str, value: str) -> str:
    return f"{name} = {_quote(value)}"
