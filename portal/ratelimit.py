"""Per-client rate limits on the endpoints worth abusing (filing, signing in).

Token buckets in this process: enough for one web process; several processes behind a
load balancer share nothing, so each enforces its own limit (set the limits per process,
or put a shared limiter in the proxy in front). Answers ``429`` with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
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


DEFAULT_RULES = (
    Rule("POST", "/api/applications", per_minute=10, burst=10),
    Rule("POST", "/login", per_minute=10, burst=10),
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
    """ASGI middleware applying ``rules``; the client is its bearer token (hashed) or, for
    anonymous requests, its address."""

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
            rule = next(
                (
                    r
                    for r in self.rules
                    if scope["method"] == r.method and scope["path"].startswith(r.path_prefix)
                ),
                None,
            )
            if rule is not None:
                wait = self.buckets.take(rule, _client(scope))
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


def _client(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value.lower().startswith(b"bearer "):
            return "t:" + hashlib.sha256(value[7:].strip()).hexdigest()[:32]
        if name == b"cookie" and b"madoguchi_session=" in value:
            session = value.split(b"madoguchi_session=", 1)[1].split(b";", 1)[0]
            return "s:" + hashlib.sha256(session).hexdigest()[:32]
    client = scope.get("client")
    return "a:" + (client[0] if client else "unknown")
