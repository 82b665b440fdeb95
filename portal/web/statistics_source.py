"""What the statistics pages read: the statistics service, as the pages use it.

The pages need little of it: the published table (rows and the columns that describe
them), the caseworker's own table, the downloads' bytes, and a cheap version of the read
model for HTTP caching. :class:`StatisticsReader` names exactly that, so the pages depend
on a shape, not on how the measures are computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from fastapi import Request
from pydantic import BaseModel

from identity.principals import Caseworker
from portal.deps import application_of
from services.refusals import not_configured


class StatsQuery(BaseModel, frozen=True):
    """The page's filter: a procedure, a municipality, months from / to (YYYY-MM)."""

    procedure: str | None = None
    municipality: str | None = None
    start: str | None = None
    end: str | None = None


class ColumnLike(Protocol):
    name: str
    title: Mapping[str, str]
    unit: str


class TableLike(Protocol):
    columns: Sequence[ColumnLike]
    rows: Sequence[Mapping[str, Any]]


class StatisticsReader(Protocol):
    def version(self) -> str: ...
    def published(self, query: Any) -> TableLike: ...
    def internal(self, principal: Caseworker, query: Any) -> TableLike: ...
    def csv(self, query: Any) -> bytes | str: ...
    def json(self, query: Any) -> bytes | str: ...
    def dataset(self) -> bytes | str: ...


def statistics_of(request: Request) -> StatisticsReader:
    """The installation's statistics service.

    :raises Refused: ``unavailable`` where the installation has none.
    """
    found = getattr(application_of(request), "statistics", None)
    if found is None:
        raise not_configured("statistics")
    return found
