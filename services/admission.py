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
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from services.refusals import Refused

#: Filings a web process starts at once by default: far above what a healthy workflow
#: service has in flight (a start takes milliseconds), reached only when it slows down.
DEFAULT_IN_FLIGHT = 8
#: The least time a start is given: below it, the filing is refused before it is started.
MIN_START = 0.2


class Admission:
    """At most ``limit`` filings in flight; a filing waits up to ``wait`` seconds for a slot.

    One per web process (the limit is per process: a deployment's total is the sum). The
    semaphore is made on first use, inside the event loop that serves the requests."""

    def __init__(self, limit: int, *, wait: float = 0.25, answer_within: float = 1.5,
                 retry_after: int = 2) -> None:
        if limit < 1:
            raise ValueError("the admission limit must be at least 1")
        self.limit = limit
        self.wait = wait
        #: The budget of one filing, from its request's start to the workflow service's
        #: answer: what is left of it after validation and the wait for a slot is the start's
        #: RPC deadline, so that every filing is answered in about this time.
        self.answer_within = answer_within
        self.retry_after = retry_after
        self._slots: asyncio.Semaphore | None = None
        self.refused = 0  # a count for benchmarks and logs

    @asynccontextmanager
    async def slot(self, began: float | None = None) -> AsyncIterator[timedelta]:
        """Hold a slot for the block, or raise ``unavailable`` (``busy``) if none frees in
        time or the filing's budget (from ``began``, a ``time.monotonic()``) is spent; the
        block gets the time left for the start."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        slots = self._slots
        began = time.monotonic() if began is None else began
        left = self.answer_within - (time.monotonic() - began)
        try:
            if left < MIN_START:  # validation alone took the budget: the process is busy
                raise TimeoutError
            if slots.locked():  # none free: wait a moment for one (a free one is taken now)
                await asyncio.wait_for(slots.acquire(), min(self.wait, left - MIN_START))
            else:
                await slots.acquire()
        except TimeoutError:
            self.refused += 1
            raise busy(self.retry_after) from None
        try:
            yield timedelta(seconds=max(MIN_START,
                                        self.answer_within - (time.monotonic() - began)))
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
