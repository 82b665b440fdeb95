"""Dependencies of the HTTP routes, as ``Annotated`` types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from documents.timestamps import LocalTimestampAuthority
from forms.catalog import Catalog
from identity.devissuer import DevIssuer
from identity.errors import TokenInvalid
from identity.principals import Caseworker
from identity.verify import TokenVerifier
from notices.dispatch import NoticeSetup
from records.attachments import AttachmentStore
from records.blobs import BlobStore
from records.drafts import DraftStore
from records.inbox import InboxStore
from records.register import DocumentRegister
from workflows.cases import CaseError, CaseService, Principal


@dataclass
class PortalContext:
    """What the routes need, built once per process by the app's lifespan."""

    cases: CaseService
    verifier: TokenVerifier
    inbox: InboxStore
    register: DocumentRegister
    blobs: BlobStore
    notices: NoticeSetup | None = None
    catalog: Catalog | None = None
    drafts: DraftStore | None = None
    attachments: AttachmentStore | None = None
    trust_roots: list[Any] = field(default_factory=list)  # asn1crypto certificates of seals
    tsa: LocalTimestampAuthority | None = None  # development only: served at /tsa
    dev_issuer: DevIssuer | None = None  # development only: the sign-in page's demo people


def _context(request: Request) -> PortalContext:
    return request.app.state.portal


Context = Annotated[PortalContext, Depends(_context)]
_bearer = HTTPBearer(auto_error=False)


def _principal(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise TokenInvalid("no bearer token")
    return context.verifier.verify(credentials.credentials)


def _caseworker(principal: Annotated[Principal, Depends(_principal)]) -> Caseworker:
    if not isinstance(principal, Caseworker):
        raise CaseError(
            "caseworker_only",
            403,
            "この操作は担当職員のみ行えます。",
            "Only a caseworker can do this.",
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_principal)]
CurrentCaseworker = Annotated[Caseworker, Depends(_caseworker)]
