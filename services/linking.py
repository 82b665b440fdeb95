"""Linking a counter filing to the resident's own sign-in (窓口で申請 → 後でオンラインで確認).

A case filed at a counter has the resident as its applicant under the key of the
registry's person id (``ApplicantKeys.of_subject(COUNTER_ISSUER, person_id)``): staff
never see or handle a token of the resident, so the key cannot be the sign-in's. When the
same person later signs in **with their My Number card** (assurance ``high``), the
registry finds them by the card's four facts and answers the same person id: their cases
and notices under that key are theirs too. A password sign-in is never linked (its facts
are not proven by a card). Proxies are unaffected: a proxy's cases stay under the proxy's
own key, and a counter case is linked only to the person it was filed for.

The answer is cached per sign-in for a few minutes, so listing pages do not call the
registry each time; a registry that is down links nothing (the resident's own cases are
still listed).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from adapters.models import AdapterUnavailable, PersonQuery, ResidentRegistry
from identity.counter import COUNTER_ISSUER
from identity.principals import AnyPrincipal, Resident
from services.keys import ApplicantKeys

__all__ = ["RegistryLinks", "counter_key"]


def counter_key(keys: ApplicantKeys, person_id: str) -> str:
    """The applicant key of cases filed at a counter for the registry's ``person_id``."""
    return keys.of_subject(COUNTER_ISSUER, person_id)


class RegistryLinks:
    """The applicant keys a signed-in resident's cases and notices are found under."""

    def __init__(self, keys: ApplicantKeys, registry: ResidentRegistry | None, *,
                 ttl: float = 300.0, size: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._keys = keys
        self._registry = registry
        self._ttl, self._size, self._clock = ttl, size, clock
        self._cache: OrderedDict[tuple[str, str], tuple[float, str | None]] = OrderedDict()

    async def linked(self, principal: AnyPrincipal) -> str | None:
        """The counter key linked to this sign-in, or None (not a card sign-in, not found,
        registry down or not configured)."""
        if (self._registry is None or not isinstance(principal, Resident)
                or principal.issuer == COUNTER_ISSUER or principal.assurance_level != "high"
                or not (principal.name and principal.birthdate and principal.address)):
            return None
        who = (principal.issuer, principal.subject)
        now = self._clock()
        cached = self._cache.get(who)
        if cached is not None and cached[0] > now:
            return cached[1]
        query = PersonQuery(name=principal.name, birthdate=principal.birthdate,
                            address=principal.address, gender=principal.gender,
                            name_kana=principal.name_kana)
        try:
            record = await self._registry.find(query)
        except AdapterUnavailable:
            return None  # not cached: linked again once the registry answers
        key = counter_key(self._keys, record.person_id) if record is not None else None
        self._cache[who] = (now + self._ttl, key)
        self._cache.move_to_end(who)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return key

    async def keys_of(self, principal: AnyPrincipal) -> list[str]:
        """The resident's own key, then the linked counter key if any."""
        if not isinstance(principal, Resident):
            return []
        own = self._keys.of(principal)
        linked = await self.linked(principal)
        return [own] if linked is None or linked == own else [own, linked]
