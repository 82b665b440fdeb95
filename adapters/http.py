"""What both adapters share: one JSON call with timeouts, bounded retries and backoff.

A call is retried on what may pass by itself (a refused or timed-out connection, a read
timeout, 5xx, 429), never on a 4xx: the same request would get the same answer. 404 is an
answer (no such person, no account), returned to the caller; anything else becomes
:class:`adapters.models.AdapterUnavailable`, whose message names the interface and the
operation but never a person (no name, no id, no URL path, no response body).

Each call opens its own ``httpx.AsyncClient``: the adapters are called from the web
process's event loop and from activities (their own loop or thread), and a pooled client
is bound to the loop that first used it. A call is rare (a life event opened, a dependent
filing prepared), so the connection set-up costs nothing that matters.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from adapters.models import AdapterUnavailable

M = TypeVar("M", bound=BaseModel)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class CallPolicy:
    """How long one call may take.

    :param connect_timeout: seconds to open the connection (each attempt).
    :param read_timeout: seconds to wait for the answer (each attempt; also write and pool).
    :param attempts: tries in all, at least 1.
    :param backoff: seconds before the second attempt, doubled before each further one.
    :param max_backoff: the longest wait between two attempts, also the cap on a
        ``Retry-After`` the server asks for.
    :param deadline: seconds for the whole call, retries and waits included: no attempt
        starts that could not finish within it.
    """

    connect_timeout: float = 2.0
    read_timeout: float = 3.0
    attempts: int = 3
    backoff: float = 0.2
    max_backoff: float = 2.0
    deadline: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if min(self.connect_timeout, self.read_timeout, self.deadline) <= 0:
            raise ValueError("timeouts and the deadline must be positive")

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_timeout, connect=self.connect_timeout)


def retry_after(value: str | None, *, cap: float) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), at most
    ``cap``; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), cap)


class JsonInterface:
    """One municipal HTTP interface: a base URL, a bearer token, a call policy.

    :param name: how messages name the interface ("resident registry").
    :param base_url: e.g. ``https://registry.example.lg.jp/api`` (the paths start with /v1).
    :param token: the bearer token the municipality issued to madoguchi.
    """

    def __init__(self, name: str, base_url: str, token: str, policy: CallPolicy) -> None:
        if not token or token != token.strip():
            raise ValueError(f"{name}: the bearer token is empty or has surrounding spaces")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.policy = policy

    def _unavailable(self, operation: str, why: str) -> AdapterUnavailable:
        return AdapterUnavailable(f"{self.name}: {operation}: {why}")

    async def call(self, operation: str, method: str, path: str, model: type[M], *,
                   json: Any = None) -> M | None:
        """``method path`` answered as ``model``; None on 404.

        :param operation: the operation's name for messages (no personal data).
        :raises AdapterUnavailable: on anything but a valid 200 or a 404, once retries are
            spent or not worth trying.
        """
        policy = self.policy
        started = time.monotonic()
        last = "no attempt"
        wait = policy.backoff
        async with httpx.AsyncClient(base_url=self.base_url, headers=self._headers,
                                     timeout=policy.timeout, follow_redirects=False,
                                     trust_env=False) as client:
            for attempt in range(1, policy.attempts + 1):
                try:
                    reply = await client.request(method, path, json=json)
                except httpx.TimeoutException as exc:
                    last = f"timed out ({type(exc).__name__})"
                    pause = wait
                except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                    last = f"not reachable ({type(exc).__name__})"
                    pause = wait
                except httpx.TransportError as exc:
                    # Our side cannot form the request (a bad URL, a proxy): retrying won't help.
                    raise self._unavailable(operation, f"cannot call ({type(exc).__name__})") \
                        from None
                else:
                    if reply.status_code == 200:
                        return self._parse(operation, reply, model)
                    if reply.status_code == 404:
                        return None
                    last = f"HTTP {reply.status_code}"
                    if reply.status_code not in RETRYABLE_STATUS:
                        raise self._unavailable(operation, last)
                    asked = retry_after(reply.headers.get("Retry-After"), cap=policy.max_backoff)
                    pause = wait if asked is None else asked
                if attempt == policy.attempts:
                    break
                # The next attempt must fit in the deadline, its worst case included.
                worst = pause + policy.connect_timeout + policy.read_timeout
                if time.monotonic() - started + worst > policy.deadline:
                    last += ", no time left for another attempt"
                    break
                await asyncio.sleep(pause)
                wait = min(wait * 2, policy.max_backoff)
        raise self._unavailable(operation, f"{last} after {attempt} attempt(s)")

    def _parse(self, operation: str, reply: httpx.Response, model: type[M]) -> M:
        try:
            return model.model_validate_json(reply.content)
        except ValidationError as exc:
            # Field locations only: the values are personal data.
            where = sorted({".".join(str(p) for p in e["loc"]) or "(body)" for e in exc.errors()})
            raise self._unavailable(
                operation, "malformed answer (" + ", ".join(where[:5]) + ")") from None
