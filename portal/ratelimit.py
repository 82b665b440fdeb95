"""Per-client rate limits on the endpoints worth abusing (filing, signing in).

Token buckets in this process: enough for one web process; several processes behind a
load balancer share nothing, so each enforces its own limit (set the limits per process,
or put a shared limiter in the proxy in front). Answers ``429`` with ``Retry-After``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from portal.errors import error_response


@dataclass(frozen=True)
class Rule:
    """At most ``burst`` requests at once, refilled at ``per_minute`` a minute."""

    method: str
    path_prefix: str
    per_minute: float
    burst: int
    by_address: bool = False  # sign-in: nobody is known yet, so the address is the client
    exact: bool = False  # the path itself only (filing), not the paths below it (actions)
    suffix: str = ""  # and ending so: the web form's final "submit", not its page turns

    def matches(self, method: str, path: str) -> bool:
        if method != self.method or not path.endswith(self.suffix):
            return False
        return path == self.path_prefix if self.exact else path.startswith(self.path_prefix)


DEFAULT_RULES = (
    # Filing, not a caseworker's actions on /api/applications/{id}/actions.
    Rule("POST", "/api/applications", per_minute=10, burst=10, exact=True),
    # The same filing through the web form (POST /apply/{municipality}/{procedure}/submit).
    Rule("POST", "/apply/", per_minute=10, burst=10, suffix="/submit"),
    Rule("POST", "/login", per_minute=10, burst=10, by_address=True),
    Rule("POST", "/api/drafts", per_minute=30, burst=30),
    Rule("POST", "/api/attachments", per_minute=30, burst=30),
)


class TokenBuckets:
    """Buckets keyed by (rule, client), least recently used dropped beyond ``max_clients``."""

    def __init__(
        self, *, max_clients: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._buckets: OrderedDict[tuple[Rule, str], tuple[float, float]] = OrderedDict()
        self._max = max_clients
        self._clock = clock

    def take(self, rule: Rule, client: str) -> float:
        """0 if the request may go ahead, else the seconds until it may."""
        now = self._clock()
        rate = rule.per_minute / 60.0
        tokens, last = self._buckets.pop((rule, client), (float(rule.burst), now))
        tokens = min(float(rule.burst), tokens + (now - last) * rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / rate
        self._buckets[(rule, client)] = (tokens, now)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    """ASGI middleware applying ``rules``: per person (the token's issuer and subject);
    sign-in, where nobody is known yet, per address."""

    def __init__(
        self,
        app: ASGIApp,
        rules: tuple[Rule, ...] = DEFAULT_RULES,
        buckets: TokenBuckets | None = None,
    ) -> None:
        self.app = app
        self.rules = rules
        self.buckets = buckets or TokenBuckets()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            rule = next((r for r in self.rules if r.matches(scope["method"], scope["path"])), None)
            if rule is not None:
                # Per person, not per address: residents behind one carrier NAT must not
                # share a limit in a disaster surge. A made-up identity buys a fresh bucket
                # only to be refused (401) by token verification before any work is done.
                address = _address(scope)
                client = address if rule.by_address else (_person(scope) or address)
                wait = self.buckets.take(rule, client)
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


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return "a:" + (client[0] if client else "unknown")


def _person(scope: Scope) -> str | None:
    """Who the request claims to be (issuer + subject of its token, unverified: the route
    verifies it and refuses a made-up one before doing any work)."""
    token = None
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value.lower().startswith(b"bearer "):
            token = value[7:].strip()
        elif name == b"cookie" and b"madoguchi_session=" in value and token is None:
            token = value.split(b"madoguchi_session=", 1)[1].split(b";", 1)[0]
    if not token or token.count(b".") != 2 or len(token) > 16_384:
        return None
    try:
        segment = token.split(b".")[1]
        claims = json.loads(base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4)))
        who = f"{claims['iss']}|{claims['sub']}".encode()
    except (ValueError, KeyError, TypeError):
        return None
    return "p:" + hashlib.sha256(who).hexdigest()[:32]
