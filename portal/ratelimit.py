"""Rate limits on the endpoints worth abusing (filing, signing in, drafts, uploads).

Counted with the ``limits`` library (moving windows) in a storage every web process
shares: ``MADOGUCHI_RATE_LIMIT_STORAGE=redis://host:6379`` deployed, ``memory://`` (this
process only) for ``madoguchi up``. Answers ``429`` with ``Retry-After``.

Who is counted (issue #15, findings 4, 5 and 8):

* a limit per person is charged only after the request's credential is **verified**:
  exactly the credential the route authenticates (the one bearer token of the API routes,
  the session cookie of the pages), never a claim read from an unverified token. The
  verified principal is handed to the route (``request.state``), which uses it instead of
  verifying again, so a one-time token's ``jti`` is recorded once;
* a request on a limited route whose credential is missing or fails verification is
  charged to its client *address* (a bucket of failed authentications), so made-up tokens
  neither buy fresh buckets nor use up somebody else's;
* a request with more than one ``Authorization`` header is refused (400) before anything
  else: the limiter and the route could otherwise read different ones;
* the client address is the peer, or, only when the peer is one of the configured proxies
  (``MADOGUCHI_FORWARDED_ALLOW_IPS``), the last address in ``X-Forwarded-For`` that is not
  a proxy itself.

When the storage cannot be reached the request goes ahead (logged): the limits protect
the service from floods, they decide nobody's rights.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import anyio.to_thread
from fastapi.security.utils import get_authorization_scheme_param
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from identity.errors import IdentityError
from identity.principals import AnyPrincipal
from portal.errors import error_response
from portal.web import session
from services.refusals import Refused

log = logging.getLogger("madoguchi.portal")

SESSION_COOKIE = session.SESSION_COOKIE
#: Where the middleware leaves the verified principal for the route (``request.state``).
VERIFIED_STATE = "madoguchi_verified"

#: What a limited route authenticates with, so the limiter reads exactly that.
Credential = Literal["bearer", "cookie", "address"]


@dataclass(frozen=True)
class Rule:
    """At most ``per_minute`` requests in any minute, per person (``credential``) or, for
    ``address``, per client address."""

    method: str
    path_prefix: str
    per_minute: int
    credential: Credential = "bearer"
    exact: bool = False  # the path itself only (filing), not the paths below it (actions)
    suffix: str = ""  # and ending so: the web form's final "submit", not its page turns

    def matches(self, method: str, path: str) -> bool:
        if method != self.method or not path.endswith(self.suffix):
            return False
        return path == self.path_prefix if self.exact else path.startswith(self.path_prefix)

    @property
    def item(self) -> RateLimitItem:
        return RateLimitItemPerMinute(self.per_minute, namespace="madoguchi")

    @property
    def name(self) -> str:
        return f"{self.method}:{self.path_prefix}:{self.suffix}"


DEFAULT_RULES = (
    # Filing, not a caseworker's actions on /api/applications/{id}/actions.
    Rule("POST", "/api/applications", per_minute=10, exact=True),
    # The same filing through the web form (POST /apply/{municipality}/{procedure}/submit),
    # signed in by the session cookie.
    Rule("POST", "/apply/", per_minute=10, credential="cookie", suffix="/submit"),
    # Sign-in: nobody is known yet, so the address is the client.
    Rule("POST", "/login", per_minute=10, credential="address"),
    Rule("POST", "/api/drafts", per_minute=30),
    Rule("POST", "/api/attachments", per_minute=30),
)

#: Failed authentications on limited routes, per client address.
FAILED_AUTH_PER_MINUTE = 20


class Limiter:
    """Moving-window counters in a ``limits`` storage (``memory://``, ``redis://...``)."""

    def __init__(self, storage: str = "memory://", *, key_prefix: str = "madoguchi") -> None:
        uri = storage if storage.startswith("async+") else f"async+{storage}"
        options: dict[str, Any] = {}
        if uri.startswith(("async+redis", "async+rediss")):
            # redis-py (a dependency of ours), not coredis; fail fast when it is down.
            options = {"implementation": "redispy", "key_prefix": key_prefix,
                       "socket_connect_timeout": 1.0, "socket_timeout": 1.0}
        self.storage_uri = uri
        self._storage = storage_from_string(uri, **options)
        self._strategy = MovingWindowRateLimiter(self._storage)  # type: ignore[arg-type]

    async def take(self, item: RateLimitItem, *identifiers: str) -> float:
        """0 if the request may go ahead, else the seconds until it may."""
        try:
            if await self._strategy.hit(item, *identifiers):
                return 0.0
            stats = await self._strategy.get_window_stats(item, *identifiers)
        except Exception as exc:  # storage down: let the request through (see module doc)
            log.warning("rate limit storage unavailable: %s", type(exc).__name__)
            return 0.0
        return max(1.0, stats.reset_time - time.time())

    async def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        await self._strategy.clear(item, *identifiers)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The addresses whose ``X-Forwarded-For`` is believed (``*``: any peer)."""

    def __init__(self, spec: str | Iterable[str] = "") -> None:
        entries = [e.strip() for e in (spec.split(",") if isinstance(spec, str) else spec)]
        entries = [e for e in entries if e]
        self.any = "*" in entries
        self.networks: list[Network] = []
        for entry in entries:
            if entry != "*":
                self.networks.append(ipaddress.ip_network(entry, strict=False))

    def __contains__(self, address: str) -> bool:
        if self.any:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, scope: Scope) -> str:
        """The client's address: the peer, or behind trusted proxies the forwarded one."""
        peer = scope.get("client")
        address = peer[0] if peer else "unknown"
        if address not in self:
            return address
        forwarded = b",".join(v for k, v in scope.get("headers", ()) if k == b"x-forwarded-for")
        hops = [h.strip() for h in forwarded.decode("latin-1").split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in self:
                return hop
        return hops[0] if hops else address


VerifierOf = Callable[[Scope], Any]


class _SessionChecked:
    """Verifies a token with the portal's one check (:func:`portal.web.session.verify_token`:
    signature, claims, and a session ended by signing out), as the route will."""

    def __init__(self, context: Any) -> None:
        self._context = context

    def verify(self, token: str) -> AnyPrincipal:
        return session.verify_token(self._context, token).principal


def _verifier_of_app(scope: Scope) -> Any:
    """The token check of the app serving ``scope`` (its lifespan built the context)."""
    app = scope.get("app")
    portal = getattr(getattr(app, "state", None), "portal", None)
    return _SessionChecked(portal) if portal is not None else None


class RateLimitMiddleware:
    """ASGI middleware applying ``rules`` (see the module's doc for who is counted)."""

    def __init__(
        self,
        app: ASGIApp,
        rules: tuple[Rule, ...] = DEFAULT_RULES,
        limiter: Limiter | None = None,
        *,
        storage: str = "memory://",
        trusted_proxies: TrustedProxies | str = "",
        verifier_of: VerifierOf = _verifier_of_app,
        failed_auth_per_minute: int = FAILED_AUTH_PER_MINUTE,
    ) -> None:
        self.app = app
        self.rules = rules
        self.limiter = limiter or Limiter(storage)
        self.proxies = (trusted_proxies if isinstance(trusted_proxies, TrustedProxies)
                        else TrustedProxies(trusted_proxies))
        self.verifier_of = verifier_of
        self.failed_auth = RateLimitItemPerMinute(failed_auth_per_minute, namespace="madoguchi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", ())
        if sum(1 for name, _ in headers if name == b"authorization") > 1:
            response = error_response(
                400, "duplicate_authorization",
                "認証情報が複数送られたため、受け付けませんでした。",
                "The request carries more than one Authorization header.",
            )
            await response(scope, receive, send)
            return
        rule = next((r for r in self.rules if r.matches(scope["method"], scope["path"])), None)
        if rule is not None:
            wait = await self._charge(rule, scope)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                response = error_response(
                    429,
                    "rate_limited",
                    f"短い時間に操作が続いたため、受け付けませんでした。{seconds}秒ほど待って、"
                    "もう一度お試しください。",
                    f"Too many requests. Please wait {seconds} seconds and try again.",
                    headers={"Retry-After": str(seconds)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _charge(self, rule: Rule, scope: Scope) -> float:
        address = self.proxies.client(scope)
        if rule.credential == "address":
            return await self.limiter.take(rule.item, rule.name, "a:" + address)
        token = credential(scope, rule.credential)
        principal = await self._verified(scope, token) if token else None
        if principal is None:
            # Nobody verified: the route refuses it (401, or the sign-in page); the
            # address pays, so a flood of made-up tokens stops here.
            return await self.limiter.take(self.failed_auth, "auth-failed", "a:" + address)
        scope.setdefault("state", {})[VERIFIED_STATE] = (rule.credential, token, principal)
        return await self.limiter.take(rule.item, rule.name, person_key(principal))

    async def _verified(self, scope: Scope, token: str) -> AnyPrincipal | None:
        verifier = self.verifier_of(scope)
        if verifier is None:
            return None
        try:
            # A thread: verification may fetch an issuer's keys (JWKS URL).
            return await anyio.to_thread.run_sync(verifier.verify, token)
        except (IdentityError, Refused):
            # Not verified here (a bad token, or the session store not answering): the
            # route's own check answers it, in its words.
            return None


def credential(scope: Scope, kind: Credential) -> str | None:
    """The token the route will authenticate: the bearer token of the (single)
    ``Authorization`` header as FastAPI's ``HTTPBearer`` reads it, or the session cookie
    of the first ``Cookie`` header as Starlette's ``request.cookies`` reads it."""
    for name, value in scope.get("headers", ()):
        if kind == "bearer" and name == b"authorization":
            scheme, token = get_authorization_scheme_param(value.decode("latin-1"))
            return token if scheme.lower() == "bearer" and token else None
        if kind == "cookie" and name == b"cookie":
            return cookie_parser(value.decode("latin-1")).get(SESSION_COOKIE) or None
    return None


def person_key(principal: AnyPrincipal) -> str:
    """The bucket of a verified person: issuer and subject, hashed (no id in the store)."""
    who = f"{principal.issuer}|{principal.subject}".encode()
    return "p:" + hashlib.sha256(who).hexdigest()[:32]


def verified_principal(state: Any, kind: Credential, token: str) -> AnyPrincipal | None:
    """The principal the middleware verified for this request's ``token``, if it did."""
    found = getattr(state, VERIFIED_STATE, None)
    if found and found[0] == kind and found[1] == token:
        return found[2]
    return None
