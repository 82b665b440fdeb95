"""The pages' sessions on the server side: ended sessions and their CSRF tokens.

The session cookie holds the identity provider's signed token itself, which stays valid
until its ``exp`` whatever the browser does. So signing out records the session's id as
*revoked* here, and every verification (cookie or bearer) looks it up; and each session
has one CSRF token stored with it, so a CSRF token of another session (an attacker's own,
planted in the victim's browser as a cookie) is refused.

A session's id is the caller's digest of the token's ``iss`` + ``jti`` (or of the whole
token when it has no ``jti``): no token content is stored. A row lives until the token
it came from has expired (``expires_at``); expired rows are deleted as new ones arrive.
The table is shared by every web process (SQLite file or PostgreSQL, see
:mod:`records.db`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Engine, Index, String, Table, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from records.db import UTCDateTime, insert_ignore, make_engine, metadata

__all__ = ["SessionRecord", "SessionStore", "SessionStoreUnavailable", "web_sessions"]

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("csrf", String(128), nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Index(None, "expires_at"),
)


class SessionStoreUnavailable(Exception):
    """The database did not answer; callers refuse the session (fail closed)."""


@dataclass(frozen=True)
class SessionRecord:
    """What is known of one session: its CSRF token, and whether it was ended."""

    csrf: str | None
    revoked: bool


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class SessionStore:
    """Sessions' server-side state on ``records.db``.

    :param engine: from :func:`records.db.make_engine`, schema created.
    :param purge_every: seconds between deletions of expired rows.
    :param clock: seconds since the epoch.
    :raises SessionStoreUnavailable: from every method, on a database error.
    """

    def __init__(self, engine: Engine, *, purge_every: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._purge_every = purge_every
        self._clock = clock
        self._next_purge = 0.0

    @classmethod
    def in_memory(cls) -> SessionStore:
        """A store of this process only (tests, and a context built without one)."""
        engine = make_engine("sqlite://")
        web_sessions.create(engine, checkfirst=True)
        return cls(engine)

    def get(self, key: str) -> SessionRecord | None:
        """The record of session ``key``, or None if nothing is stored (or it expired)."""
        now = _at(self._clock())
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(web_sessions.c.csrf, web_sessions.c.revoked_at).where(
                        web_sessions.c.key == key, web_sessions.c.expires_at > now)
                ).first()
        except SQLAlchemyError as exc:
            raise SessionStoreUnavailable("session store unavailable") from exc
        if row is None:
            return None
        return SessionRecord(csrf=row.csrf, revoked=row.revoked_at is not None)

    def bind_csrf(self, key: str, csrf: str, expires_at: float) -> str:
        """Give session ``key`` the CSRF token ``csrf`` unless it has one already.

        Race-safe: of two first requests of one session, the database keeps one token.

        :returns: the session's CSRF token (``csrf``, or the one bound before).
        """
        try:
            with self.engine.begin() as conn:
                self._purge(conn)
                inserted = insert_ignore(conn, web_sessions, {
                    "key": key, "csrf": csrf, "revoked_at": None,
                    "expires_at": _at(expires_at)})
                if inserted:
                    return csrf
                conn.execute(update(web_sessions).where(
                    web_sessions.c.key == key, web_sessions.c.csrf.is_(None)
                ).values(csrf=csrf))
                bound = conn.execute(select(web_sessions.c.csrf).where(
                    web_sessions.c.key == key)).scalar_one()
        except SQLAlchemyError as exc:
            raise SessionStoreUnavailable("session store unavailable") from exc
        return str(bound)

    def revoke(self, key: str, expires_at: float) -> None:
        """End session ``key``: refused from now until ``expires_at`` (when its token
        expires anyway and the row goes). Idempotent."""
        now = _at(self._clock())
        try:
            with self.engine.begin() as conn:
                self._purge(conn)
                if not insert_ignore(conn, web_sessions, {
                        "key": key, "csrf": None, "revoked_at": now,
                        "expires_at": _at(expires_at)}):
                    conn.execute(update(web_sessions).where(
                        web_sessions.c.key == key, web_sessions.c.revoked_at.is_(None)
                    ).values(revoked_at=now))
        except SQLAlchemyError as exc:
            raise SessionStoreUnavailable("session store unavailable") from exc

    def count(self) -> int:
        """Rows currently stored (expired ones included until the next purge)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(web_sessions)).scalar_one())

    def _purge(self, conn: Connection) -> None:
        now = self._clock()
        if now >= self._next_purge:
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= _at(now)))
            self._next_purge = now + self._purge_every
