"""Used one-time token ids (``jti``), shared by every web process: the replay store of
:mod:`identity.replay` in the read-model database.

A row lives until the token it came from has expired (``expires_at``); expired rows are
deleted as new ones arrive. The key is a SHA-256 digest (:func:`identity.replay.replay_key`):
no token content is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Engine, Index, String, Table, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from identity.replay import replay_key
from records.db import UTCDateTime, insert_ignore, metadata

__all__ = ["RecordsReplayStore", "used_token_ids"]

used_token_ids = Table(
    "used_token_ids",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class RecordsReplayStore:
    """:class:`identity.replay.ReplayStore` on ``records.db`` (SQLite or PostgreSQL).

    Race-safe across processes: the primary key decides which of two concurrent uses of
    one ``jti`` is first (``INSERT ... ON CONFLICT DO NOTHING``). A database error refuses
    the token (fail closed) and is logged by the verifier as a refusal.

    :param engine: from :func:`records.db.make_engine`, schema created.
    :param purge_every: seconds between deletions of expired rows.
    """

    def __init__(self, engine: Engine, *, purge_every: float = 60.0) -> None:
        self.engine = engine
        self._purge_every = purge_every
        self._next_purge = 0.0

    def first_use(self, issuer: str, jti: str, expires_at: float, now: float) -> bool:
        key = replay_key(issuer, jti)
        try:
            with self.engine.begin() as conn:
                if now >= self._next_purge:
                    conn.execute(
                        delete(used_token_ids).where(used_token_ids.c.expires_at <= _at(now))
                    )
                    self._next_purge = now + self._purge_every
                else:
                    # An expired row of this very key must not block its (impossible
                    # anyway: the token has expired too) reuse forever.
                    conn.execute(
                        delete(used_token_ids).where(
                            used_token_ids.c.key == key, used_token_ids.c.expires_at <= _at(now)
                        )
                    )
                return insert_ignore(
                    conn, used_token_ids, {"key": key, "expires_at": _at(expires_at)}
                )
        except SQLAlchemyError:
            return False

    def count(self) -> int:
        """Rows currently stored (expired ones included until the next purge)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(used_token_ids)).scalar_one())
