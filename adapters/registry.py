"""The resident registry (住民基本台帳) client: docs/adapters/resident-registry.openapi.yaml."""

from __future__ import annotations

from urllib.parse import quote

from adapters.http import CallPolicy, JsonInterface
from adapters.models import PersonQuery, RegistryRecord

__all__ = ["HttpResidentRegistry"]


class HttpResidentRegistry:
    """:class:`adapters.models.ResidentRegistry` over the municipality's HTTP interface.

    :param base_url: where the interface is served (its paths start with ``/v1``).
    :param token: madoguchi's bearer token for it.
    :param policy: timeouts and retries (default: 2 s to connect, 3 s to read, 3 attempts).
    """

    def __init__(self, base_url: str, token: str, policy: CallPolicy | None = None) -> None:
        self._http = JsonInterface("resident registry", base_url, token, policy or CallPolicy())

    @property
    def policy(self) -> CallPolicy:
        return self._http.policy

    async def find(self, query: PersonQuery) -> RegistryRecord | None:
        """The person matching the card's four basic facts, with their household.

        :raises adapters.models.AdapterUnavailable: the registry did not answer usefully.
        """
        return await self._http.call("search", "POST", "/v1/persons/search", RegistryRecord,
                                     json=query.model_dump(mode="json", exclude_none=True))

    async def person(self, person_id: str) -> RegistryRecord | None:
        """The person by the registry's id, with the household as it is now.

        :raises adapters.models.AdapterUnavailable: the registry did not answer usefully.
        """
        return await self._http.call("person", "GET", f"/v1/persons/{quote(person_id, safe='')}",
                                     RegistryRecord)
