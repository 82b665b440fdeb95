"""Refusing replayed one-time tokens: a store of used ``jti`` values until they expire.

A one-time issuer's token (``one_time: true``) is a login assertion exchanged once; its
``jti`` is remembered until the token could no longer be accepted anyway (``exp`` plus
the issuer's leeway), so the store stays small. Keys are SHA-256 digests of
``issuer`` + ``jti``: a ``jti`` says nothing about a person, but nothing is kept in
readable form either.

Two implementations of :class:`ReplayStore`:

* :class:`MemoryReplayStore` — one process (tests, ``madoguchi web`` with one worker);
* :class:`records.jti.RecordsReplayStore` — rows in the read-model database, shared by
  every web process (what a deployment with several web processes must use).

Both *fail closed*: a store that cannot answer refuses the token rather than accept a
possible replay.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Protocol

__all__ = ["MemoryReplayStore", "ReplayStore", "replay_key"]


def replay_key(issuer: str, jti: str) -> str:
    """The stored key of a ``jti`` of ``issuer`` (hex SHA-256, 64 characters)."""
    material = issuer.encode("utf-8") + b"\x00" + jti.encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()


class ReplayStore(Protocol):
    """Remembers used token ids until they expire."""

    def first_use(self, issuer: str, jti: str, expires_at: float, now: float) -> bool:
        """Record ``jti`` of ``issuer`` as used until ``expires_at`` (epoch seconds).

        :returns: True the first time, False if it was recorded before and has not
            expired at ``now``. Atomic: of two concurrent calls, one gets True.
        """
        ...


class MemoryReplayStore:
    """A :class:`ReplayStore` in this process's memory.

    :param max_entries: a bound on memory; when reached after purging expired entries,
        new tokens are refused (fail closed) until some expire.
    """

    def __init__(self, *, max_entries: int = 1_000_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max_entries = max_entries
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_purge = 0.0

    def first_use(self, issuer: str, jti: str, expires_at: float, now: float) -> bool:
        key = replay_key(issuer, jti)
        with self._lock:
            if now >= self._next_purge or len(self._used) >= self._max_entries:
                self._purge(now)
            known = self._used.get(key)
            if known is not None and known > now:
                return False
            if known is None and len(self._used) >= self._max_entries:
                return False
            self._used[key] = expires_at
            return True

    def __len__(self) -> int:
        return len(self._used)

    def _purge(self, now: float) -> None:
        self._used = {k: v for k, v in self._used.items() if v > now}
        self._next_purge = now + 60
