"""Admission control for filings: a bounded number in flight per web process.

Under a surge (10x the rate the workers sustain) an unbounded portal queues every request
on the workflow service until clients time out, and nobody gets an answer in time. With a
bound, a filing beyond it waits a moment for a slot and is otherwise refused at once with
``unavailable`` (the portal: 503 + ``Retry-After``): nothing was started, nothing is lost,
and the requests that are admitted (and caseworkers' actions, which are not bounded here)
keep their latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from services.refusals import Refused

#: Filings a web process starts at once by default: far above what a healthy workflow
#: service has in flight (a start takes milliseconds), reached only when it slows down.
DEFAULT_IN_FLIGHT = 32


class Admission:
    """At most ``limit`` filings in flight; a filing waits up to ``wait`` seconds for a slot.

    One per web process (the limit is per process: a deployment's total is the sum). The
    semaphore is made on first use, inside the event loop that serves the requests."""

    def __init__(self, limit: int, *, wait: float = 0.25, start_timeout: float = 1.25,
                 retry_after: int = 2) -> None:
        if limit < 1:
            raise ValueError("the admission limit must be at least 1")
        self.limit = limit
        self.wait = wait
        #: The workflow service's deadline for an admitted start (its RPC timeout), so that
        #: every filing is answered within about ``wait + start_timeout`` seconds.
        self.start_timeout = timedelta(seconds=start_timeout)
        self.retry_after = retry_after
        self._slots: asyncio.Semaphore | None = None
        self.refused = 0  # a count for benchmarks and logs

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for the block, or raise ``unavailable`` (``busy``) if none frees in
        time."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        slots = self._slots
        try:
            if slots.locked():  # none free: wait a moment for one (a free one is taken now)
                await asyncio.wait_for(slots.acquire(), self.wait)
            else:
                await slots.acquire()
        except TimeoutError:
            self.refused += 1
            raise busy(self.retry_after) from None
        try:
            yield
        finally:
            slots.release()


def busy(retry_after: int) -> Refused:
    """The refusal of a filing not admitted: nothing was filed, try again shortly."""
    return Refused(
        "unavailable", "busy",
        f"ただいま混み合っています。申請はまだ受け付けていません。{retry_after}秒ほど待って、"
        "もう一度送ってください。",
        f"We are very busy right now. Your application has not been filed yet; please "
        f"wait {retry_after} seconds and send it again.",
        details={"retry_after": retry_after},
    )
