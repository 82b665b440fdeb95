"""Dependencies of the HTTP routes, as ``Annotated`` types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from adapters.models import PublicFundsAccounts, ResidentRegistry
from documents.timestamps import LocalTimestampAuthority
from forms.catalog import Catalog
from identity.devissuer import DevIssuer
from identity.errors import TokenInvalid
from identity.principals import AnyPrincipal, Caseworker, Resident
from identity.verify import TokenVerifier
from notices.dispatch import NoticeSetup
from portal.ratelimit import verified_principal
from portal.web import session
from records.attachments import AttachmentStore
from records.blobs import BlobStore
from records.counter import CounterStore
from records.drafts import DraftStore
from records.inbox import InboxStore
from records.register import DocumentRegister
from records.sessions import SessionStore
from services.application import Application
from services.cases import CaseService
from services.notices import resident_only
from services.refusals import Refused


@dataclass
class PortalContext:
    """What the routes need, built once per process by the app's lifespan: the parts of the
    installation, and :attr:`app`, the use cases assembled from them."""

    cases: CaseService | None
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
    sign_in_url: str | None = None  # the identity provider's sign-in page, where there is one
    #: Ended sessions and sessions' CSRF tokens; shared by all web processes when wired by
    #: madoguchi.runtime (the default is this process's alone).
    sessions: SessionStore = field(default_factory=SessionStore.in_memory)
    #: The municipality's resident registry and public-funds account registry
    #: (docs/adapters/); None where not configured.
    registry: ResidentRegistry | None = None
    accounts: PublicFundsAccounts | None = None
    #: Counter (窓口) sessions and prepared filings; shared by all web processes when wired
    #: by madoguchi.runtime.
    counter: CounterStore = field(default_factory=CounterStore.in_memory)
    counter_session_minutes: int = 30
    app: Application = field(init=False)

    def __post_init__(self) -> None:
        self.app = Application.assemble(
            self.cases, register=self.register, blobs=self.blobs, inbox=self.inbox,
            notices=self.notices, catalog=self.catalog, drafts=self.drafts,
            attachments=self.attachments, trust_roots=self.trust_roots,
            registry=self.registry, accounts=self.accounts, counter=self.counter,
            counter_session_minutes=self.counter_session_minutes)


def context_of(request: Request) -> PortalContext:
    return request.app.state.portal


def application_of(request: Request) -> Application:
    """The use cases, for a page handler (routes take :data:`App`)."""
    return context_of(request).app


Context = Annotated[PortalContext, Depends(context_of)]
App = Annotated[Application, Depends(application_of)]
_bearer = HTTPBearer(auto_error=False)


def _principal(
    request: Request,
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AnyPrincipal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise TokenInvalid("no bearer token")
    # On a rate-limited route the limiter has verified this very token already (with the
    # same check, session revocation included): verifying again would refuse a one-time
    # token as replayed. Elsewhere a signed-out session's token is refused as a bearer too.
    verified = verified_principal(request.state, "bearer", credentials.credentials)
    return verified or session.verify_token(context, credentials.credentials).principal


def _caseworker(principal: Annotated[AnyPrincipal, Depends(_principal)]) -> Caseworker:
    if not isinstance(principal, Caseworker):
        raise Refused("forbidden", "caseworker_only", "この操作は担当職員のみ行えます。",
                      "Only a caseworker can do this.")
    return principal


CurrentPrincipal = Annotated[AnyPrincipal, Depends(_principal)]
CurrentCaseworker = Annotated[Caseworker, Depends(_caseworker)]


@dataclass(frozen=True)
class SignedInResident:
    """A resident, and whether they signed in by the pages' session cookie."""

    resident: Resident
    by_cookie: bool

    def check_csrf(self, request: Request, supplied: str | None) -> None:
        """:raises Refused: ``forbidden`` if signed in by cookie and ``supplied`` is not the
        CSRF token of the cookie's session (see :func:`portal.web.session.expected_csrf`)."""
        if self.by_cookie and not session.csrf_matches(request, supplied):
            raise Refused("forbidden", "csrf_failed",
                          "ページの有効期限が切れました。ページを開き直してください。",
                          "This page has expired. Please reload it and try again.")


def signed_in_resident(
    request: Request,
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SignedInResident:
    """The resident of the bearer token, else of the session cookie (the portal's pages,
    which call the notice routes from JavaScript).

    :raises TokenInvalid: (401) if there is neither or the token is not valid.
    :raises Refused: ``forbidden`` for anyone but a resident.
    """
    if credentials is not None and credentials.scheme.lower() == "bearer":
        token = credentials.credentials
        principal = (verified_principal(request.state, "bearer", token)
                     or session.verify_token(context, token).principal)
        by_cookie = False
    else:
        token = request.cookies.get(session.SESSION_COOKIE, "")
        if not token:
            raise TokenInvalid("no bearer token or session cookie")
        found = session.verify_token(context, token)
        request.state.madoguchi_session = found  # the CSRF check reads it
        principal, by_cookie = found.principal, True
    if not isinstance(principal, Resident):
        raise resident_only()
    return SignedInResident(principal, by_cookie)


def _checked_resident(
    request: Request, who: Annotated[SignedInResident, Depends(signed_in_resident)]
) -> Resident:
    """A request authenticated by the cookie that changes something must carry the CSRF
    token of the cookie's session (in a header), so another site cannot use the resident's
    cookie."""
    if request.method not in ("GET", "HEAD"):
        who.check_csrf(request, request.headers.get(CSRF_HEADER))
    return who.resident


#: The header the pages' JavaScript sends the CSRF token in.
CSRF_HEADER = "X-Madoguchi-CSRF"
#: A resident by bearer token or (with the CSRF header on changes) by session cookie.
ApiResident = Annotated[Resident, Depends(_checked_resident)]
