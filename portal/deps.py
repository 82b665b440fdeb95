"""Dependencies of the HTTP routes, as ``Annotated`` types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from identity.errors import TokenInvalid
from identity.principals import Caseworker, Resident
from identity.verify import TokenVerifier
from notices.dispatch import NoticeSetup
from records.blobs import BlobStore
from records.inbox import InboxStore
from records.register import DocumentRegister
from workflows.cases import CaseError, CaseService


@dataclass
class PortalContext:
    """What the routes need, built once per process by the app's lifespan."""

    cases: CaseService
    verifier: TokenVerifier
    inbox: InboxStore
    register: DocumentRegister
    blobs: BlobStore
    notices: NoticeSetup | None = None


def _context(request: Request) -> PortalContext:
    return request.app.state.portal


Context = Annotated[PortalContext, Depends(_context)]
_bearer = HTTPBearer(auto_error=False)


def _principal(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Resident | Caseworker:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise TokenInvalid("no bearer token")
    return context.verifier.verify(credentials.credentials)


def _caseworker(principal: Annotated[Resident | Caseworker, Depends(_principal)]) -> Caseworker:
    if not isinstance(principal, Caseworker):
        raise CaseError(
            "caseworker_only",
            403,
            "この操作は担当職員のみ行えます。",
            "Only a caseworker can do this.",
        )
    return principal


CurrentPrincipal = Annotated[Resident | Caseworker, Depends(_principal)]
CurrentCaseworker = Annotated[Caseworker, Depends(_caseworker)]
