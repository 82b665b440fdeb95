"""The relational store behind the read models: engine, tables, schema.

Temporal is the system of record for cases; this store holds only what is read often and
is not a case (DESIGN.md, "Read models beside it"). It is written by idempotent Temporal
activities and read by the portal, never touched by workflow code. Every write is keyed so
that a retried activity is a no-op: rows are inserted with :func:`insert_ignore`.

SQLite (a file under the data directory) is the default; PostgreSQL is used when deployed.
Only SQLAlchemy Core is used, and only features both support.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateIndex, CreateTable

__all__ = [
    "UTCDateTime",
    "create_schema",
    "inbox_entries",
    "insert_ignore",
    "issued_documents",
    "make_engine",
    "metadata",
]

#: How long a SQLite connection waits for another writer before failing, in milliseconds.
#: The worker and the portal write the same file; activities retry on failure anyway.
SQLITE_BUSY_TIMEOUT_MS = 5000


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC.

    SQLite has no timezone type: values are stored as naive UTC text (fixed-width, so they
    sort correctly) and come back aware. PostgreSQL gets ``timestamptz``. Naive datetimes
    are refused on the way in, because their meaning depends on the writer's clock setting.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime refused (store aware UTC datetimes): {value!r}")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Named constraints and indexes, so later migrations can refer to them on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: A resident's or a municipality's inbox. ``key`` is the idempotency key of the notice
#: (workflow id + event + sequence), so a retried delivery inserts nothing.
inbox_entries = Table(
    "inbox_entries",
    metadata,
    Column("key", String, primary_key=True),
    Column("recipient", String, nullable=False),
    Column("application_id", String, nullable=False),
    Column("event", String, nullable=False),
    Column("title", JSON, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read", Boolean, nullable=False, default=False),
    Index(None, "recipient", "created_at"),
    Index(None, "application_id"),
)

#: The register of issued documents: what was issued, its hash, where the bytes are, and
#: whether it is still valid. The public verify page reads it beside the seal check.
issued_documents = Table(
    "issued_documents",
    metadata,
    Column("id", String, primary_key=True),
    Column("application_id", String, nullable=False),
    Column("procedure", String, nullable=False),
    Column("procedure_version", String, nullable=False),
    Column("municipality", String, nullable=False),
    Column("document_type", String, nullable=False),
    Column("title", JSON, nullable=False),
    Column("filename", String, nullable=False),
    Column("media_type", String, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("blob_key", String, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("status", String, nullable=False),
    Index(None, "application_id"),
    Index(None, "sha256"),
)


def _is_sqlite_memory(database: str | None) -> bool:
    return database in (None, "", ":memory:") or (database or "").startswith("file::memory:")


def make_engine(url: str) -> Engine:
    """Create the engine of the read-model store.

    :param url: a SQLAlchemy URL, e.g. ``sqlite:////var/lib/madoguchi/records.db`` or
        ``postgresql+psycopg://user@host/madoguchi``. The directory of a SQLite file must
        exist.
    :returns: an engine safe to share between threads. For SQLite every connection is put
        in WAL mode (readers do not block the writer) with a busy timeout, so the worker and
        the portal can use the same file at once. Bound parameters never appear in error
        messages or logs.
    """
    parsed = make_url(url)
    # Rows hold personal data (notice texts, names in titles): keep bound parameters out of
    # exception messages and SQL logs, which end up in Temporal failures and log files.
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)

    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False},
        "hide_parameters": True,
    }
    if _is_sqlite_memory(parsed.database):
        # An in-memory database lives in one connection: share it, or every pooled
        # connection would see its own empty database.
        kwargs["poolclass"] = StaticPool
    elif not (parsed.database or "").startswith("file:"):  # URI filenames: SQLite's own
        _private_file(Path(parsed.database or ""))
    engine = create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
            # synchronous stays FULL (the default): once an activity has reported success
            # Temporal will not retry it, so its row must survive a power cut.
        finally:
            cursor.close()

    return engine


def _private_file(path: Path) -> None:
    """Create the SQLite file owner-only (0600) before SQLite does, whatever the umask:
    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode."""
    if not path.name or not path.parent.is_dir():
        return  # SQLite will report the missing directory itself
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, mode & 0o700)
    finally:
        os.close(fd)


def create_schema(engine: Engine) -> None:
    """Create the tables and indexes that do not exist yet.

    Idempotent, and safe when the worker and the portal start at the same moment: it uses
    ``CREATE ... IF NOT EXISTS`` rather than inspect-then-create.
    """
    _import_table_modules()
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            conn.execute(CreateTable(table, if_not_exists=True))
            for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
                conn.execute(CreateIndex(index, if_not_exists=True))


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless its primary key exists; never change an existing row.

    Race-safe: the database decides (``ON CONFLICT DO NOTHING``), not a prior read.

    :returns: True if the row was inserted, False if the key existed.
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        dialect_insert = sqlite.insert
    elif dialect == "postgresql":
        dialect_insert = postgresql.insert
    else:
        raise NotImplementedError(f"read models support SQLite and PostgreSQL, not {dialect}")
    pk = [column.name for column in table.primary_key.columns]
    stmt = dialect_insert(table).values(values).on_conflict_do_nothing(index_elements=pk)
    return conn.execute(stmt).rowcount == 1


def _import_table_modules() -> None:
    """Import every module of this package, so tables defined beside their store (e.g.
    ``records/drafts.py``) are registered on ``metadata`` before the schema is created."""
    import records

    for module in pkgutil.iter_modules(records.__path__):
        importlib.import_module(f"records.{module.name}")
