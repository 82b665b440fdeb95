"""Building the adapters from configured values (madoguchi.runtime reads the settings)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.http import CallPolicy
from adapters.models import PublicFundsAccounts, ResidentRegistry
from adapters.publicfunds import HttpPublicFundsAccounts
from adapters.registry import HttpResidentRegistry

__all__ = ["Adapters", "build_adapters"]


@dataclass(frozen=True)
class Adapters:
    """The municipal systems this installation reaches; None where none is configured (the
    resident then types the data, and the case records it as not verified)."""

    registry: ResidentRegistry | None = None
    accounts: PublicFundsAccounts | None = None


def build_adapters(*, registry_url: str | None = None, registry_token: str | None = None,
                   public_funds_url: str | None = None, public_funds_token: str | None = None,
                   policy: CallPolicy | None = None) -> Adapters:
    """The adapters for the URLs given (each with its bearer token).

    :raises ValueError: if a URL is given without its token.
    """
    policy = policy or CallPolicy()
    registry = accounts = None
    if registry_url:
        if not registry_token:
            raise ValueError("the resident registry needs a bearer token")
        registry = HttpResidentRegistry(registry_url, registry_token, policy)
    if public_funds_url:
        if not public_funds_token:
            raise ValueError("the public-funds account registry needs a bearer token")
        accounts = HttpPublicFundsAccounts(public_funds_url, public_funds_token, policy)
    return Adapters(registry=registry, accounts=accounts)
