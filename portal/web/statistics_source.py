"""What the statistics pages read: the statistics service, as the pages use it, cached.

The pages need little of it: the published table (rows and the columns that describe
them), the caseworker's own table, the downloads' bytes, and a cheap version of the read
model. :class:`StatisticsReader` names exactly that, so the pages depend on a shape, not
on how the measures are computed.

The published answers change only when the read model does, and computing them from
100,000 cases' milestones takes far longer than a page may (p95 <= 50 ms): each process
keeps the answers of the current version (:class:`PublishedCache`), dropped as soon as the
version moves. A caseworker's own table is not cached (it is theirs, and small).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from fastapi import Request
from pydantic import BaseModel

from identity.principals import Caseworker
from portal.deps import application_of, context_of
from portal.web.statistics_adapter import ServiceReader
from records.statistics import MilestoneStore
from services.refusals import not_configured
from services.statistics import COLUMNS, StatisticsService


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


T = TypeVar("T")


class PublishedCache:
    """The published answers of one version of the read model, at most ``size`` of them
    (one per filter and kind), least recently used dropped first."""

    #: A version is trusted at least this many times as long as its answers took to build:
    #: at 100,000 cases a build takes tens of seconds, and a read model that moves with
    #: every filing would otherwise keep one core rebuilding (<= 10 % of a core here).
    BUILD_FACTOR = 10.0

    def __init__(self, size: int = 256, version_ttl: float = 5.0) -> None:
        """:param version_ttl: seconds a read of the read model's version is trusted (the
            published table is at most this much older than the read model, or
            ``BUILD_FACTOR`` times its last build's duration if that is longer; 0: read
            the version on every request)."""
        self._size, self._version_ttl = size, version_ttl
        self._read: tuple[float, str] | None = None
        self._version: str | None = None
        self._answers: OrderedDict[tuple[str, Any], Any] = OrderedDict()
        self._lock = threading.Lock()
        # One build at a time (others wait for it); re-entrant: a page's build reads the
        # published table through the same cache.
        self._build_lock = threading.RLock()
        self._last_build = 0.0

    def _ttl(self) -> float:
        if not self._version_ttl:
            return 0.0
        return max(self._version_ttl, self.BUILD_FACTOR * self._last_build)

    def version(self, read: Callable[[], str]) -> str:
        """The read model's version, read again only after :meth:`_ttl` seconds."""
        now = time.monotonic()
        with self._lock:
            if self._read is not None and now - self._read[0] < self._ttl():
                return self._read[1]
        value = read()
        with self._lock:
            self._read = (now, value)
        return value

    def get(self, version: str, key: tuple[str, Any], build: Callable[[], T]) -> T:
        with self._lock:
            if version != self._version:
                self._version, self._answers = version, OrderedDict()
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
        with self._build_lock:  # a second reader waits for the first's build, not its own
            with self._lock:
                if version == self._version and key in self._answers:
                    return self._answers[key]
            began = time.monotonic()
            made = build()
            with self._lock:
                self._last_build = time.monotonic() - began
                if version == self._version:
                    self._answers[key] = made
                    while len(self._answers) > self._size:
                        self._answers.popitem(last=False)
        return made


class CachedStatistics:
    """A :class:`StatisticsReader` whose published answers come from a
    :class:`PublishedCache` while the read model's version stays the same."""

    def __init__(self, reader: StatisticsReader, cache: PublishedCache) -> None:
        self._reader, self._cache = reader, cache
        self._version: str | None = None

    def version(self) -> str:
        if self._version is None:  # one request, one version: its page and ETag agree
            self._version = self._cache.version(self._reader.version)
        return self._version

    def cached(self, kind: str, key: Any, build: Callable[[], T]) -> T:
        """``build()``'s answer for ``(kind, key)`` under the current version (e.g. a
        page's view of the published table)."""
        return self._cache.get(self.version(), (kind, key), build)

    def published(self, query: StatsQuery) -> TableLike:
        return self.cached("published", query, lambda: self._reader.published(query))

    def csv(self, query: StatsQuery) -> bytes | str:
        return self.cached("csv", query, lambda: self._reader.csv(query))

    def json(self, query: StatsQuery) -> bytes | str:
        return self.cached("json", query, lambda: self._reader.json(query))

    def dataset(self) -> bytes | str:
        return self.cached("dataset", None, self._reader.dataset)

    def internal(self, principal: Caseworker, query: StatsQuery) -> TableLike:
        return self._reader.internal(principal, query)


def _installed_service(request: Request) -> StatisticsService:
    """The statistics service over this installation's read models: the workers record
    milestones beside the register of issued documents (``CaseActivities``), so the
    portal reads them from the register's database. Built once per app.

    :raises Refused: ``unavailable`` for a process without that database.
    """
    built = getattr(request.app.state, "statistics_service", None)
    if built is None:
        context = context_of(request)
        engine = getattr(context.register, "engine", None)
        if engine is None:
            raise not_configured("statistics")
        catalogue = context.app.catalogue
        publisher = {m.code: m.name.model_dump() for m in catalogue.municipalities()}
        built = request.app.state.statistics_service = StatisticsService(
            MilestoneStore(engine), publisher=publisher)
    return built


def statistics_of(request: Request) -> CachedStatistics:
    """The installation's statistics service, its published answers cached per process.

    :raises Refused: ``unavailable`` where the installation has none.
    """
    found = getattr(application_of(request), "statistics", None)
    if found is None:
        found = _installed_service(request)
    if isinstance(found, StatisticsService):
        found = ServiceReader(found, COLUMNS)
    cache = getattr(request.app.state, "statistics_cache", None)
    if cache is None:
        cache = request.app.state.statistics_cache = PublishedCache()
    return CachedStatistics(found, cache)
