"""The public-funds account registry (公金受取口座) client:
docs/adapters/public-funds-account.openapi.yaml."""

from __future__ import annotations

from urllib.parse import quote

from adapters.http import CallPolicy, JsonInterface
from adapters.models import PublicFundsAccount

__all__ = ["HttpPublicFundsAccounts"]


class HttpPublicFundsAccounts:
    """:class:`adapters.models.PublicFundsAccounts` over the HTTP interface.

    :param base_url: where the interface is served (its paths start with ``/v1``).
    :param token: madoguchi's bearer token for it.
    :param policy: timeouts and retries (default: 2 s to connect, 3 s to read, 3 attempts).
    """

    def __init__(self, base_url: str, token: str, policy: CallPolicy | None = None) -> None:
        self._http = JsonInterface("public-funds accounts", base_url, token,
                                   policy or CallPolicy())

    @property
    def policy(self) -> CallPolicy:
        return self._http.policy

    async def account(self, person_id: str) -> PublicFundsAccount | None:
        """The account the person registered (by the resident registry's id); None if none.

        :raises adapters.models.AdapterUnavailable: the registry did not answer usefully.
        """
        return await self._http.call(
            "account", "GET", f"/v1/persons/{quote(person_id, safe='')}/account",
            PublicFundsAccount)
