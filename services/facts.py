"""What a case was filed as, remembered per process so an action needs no Query first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from pydantic import BaseModel

from workflows.models import ApplicationView


class CaseFacts(BaseModel, frozen=True):
    """What a case was filed as: enough to authorize a caller and pin the procedure.

    These never change while the case's workflow exists (the Update handlers touch none of
    them), so a copy taken from any view of the case is never stale; ``act`` uses it to skip
    a Query of the whole, encrypted view before each Update (issue #10).
    """

    procedure: str
    procedure_version: str
    municipality: str
    applicant_key: str

    @classmethod
    def of(cls, view: ApplicationView) -> CaseFacts:
        return cls(procedure=view.procedure, procedure_version=view.procedure_version,
                   municipality=view.municipality, applicant_key=view.applicant_key)


class FactsCache:
    """A bounded LRU of :class:`CaseFacts` by application id, each copy kept ``ttl`` seconds.

    Why a time limit on facts that never change: the workflow id is a hash of procedure,
    municipality and applicant (never the version), so once a finished case is deleted after
    the namespace's retention (a day at least) the same id may name a new filing under a
    newer procedure version. An hour-old copy cannot be from such an earlier case.
    """

    def __init__(self, size: int, ttl: float, clock: Callable[[], float]) -> None:
        self._entries: OrderedDict[str, tuple[float, CaseFacts]] = OrderedDict()
        self._size, self._ttl, self._clock = size, ttl, clock

    def get(self, application_id: str) -> CaseFacts | None:
        entry = self._entries.get(application_id)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[application_id]
            return None
        self._entries.move_to_end(application_id)
        return entry[1]

    def remember(self, view: ApplicationView) -> None:
        if self._size <= 0:
            return
        self._entries[view.application_id] = (self._clock() + self._ttl, CaseFacts.of(view))
        self._entries.move_to_end(view.application_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, application_id: str) -> None:
        self._entries.pop(application_id, None)

    def __len__(self) -> int:
        return len(self._entries)
