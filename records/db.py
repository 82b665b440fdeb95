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
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.pool import StaticPool

__all__ = [
    "UTCDateTime",
    "create_schema",
    "head_revision",
    "inbox_entries",
    "insert_ignore",
    "issued_documents",
    "make_engine",
    "metadata",
    "schema_revision",
    "tables_registered",
    "upgrade_schema",
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
        engine = create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
        event.listen(engine, "handle_error", _without_row_values)
        return engine

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


def _without_row_values(context: Any) -> None:
    """Drop PostgreSQL's DETAIL from a failed statement's error (found on a real server):
    a constraint violation's "Failing row contains (...)" or "Key (...)=(...)" would carry
    the row's personal data into Temporal failures and logs. The detail stays readable by
    code (``exc.orig.diag``), never in ``str(exc)``."""
    orig = context.original_exception
    diag = getattr(orig, "diag", None)
    if diag is None or not getattr(diag, "message_detail", None):
        return
    terse = str(diag.message_primary or type(orig).__name__)
    orig.args = (terse,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        module, name = type(orig).__module__, type(orig).__name__
        wrapped.args = (f"({module}.{name}) {terse}", *wrapped.args[1:])


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


#: The Alembic scripts of the read models: every schema change is a revision there.
MIGRATIONS = Path(__file__).with_name("migrations")

#: The PostgreSQL advisory lock held while upgrading (any constant: ours is "窓口").
_UPGRADE_LOCK = 0x7A93_53E3


def create_schema(engine: Engine) -> None:
    """Bring the schema to the newest revision: create it on an empty database, upgrade
    an existing one (the Alembic revisions in ``records/migrations/versions``).

    Safe when several processes (web, workers) start at the same moment: the upgrade runs
    in one transaction under a lock (PostgreSQL: an advisory lock, the DDL being
    transactional; SQLite: ``BEGIN IMMEDIATE``, the file's write lock), so the second
    process waits and then finds nothing left to do. A database created before there
    were migrations (by ``CREATE ... IF NOT EXISTS``) upgrades too: the baseline revision
    creates only what is missing.
    """
    upgrade_schema(engine)


def upgrade_schema(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the read models to ``revision``; (revision before, revision after)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
        before = MigrationContext.configure(conn).get_current_revision()
        if before is None or before != _head():
            command.upgrade(_alembic_config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
        conn.commit()
    return before, after


def schema_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: no schema yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest revision this code knows."""
    return _head()


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


_heads: list[str] = []


def _head() -> str:
    if not _heads:
        from alembic.script import ScriptDirectory

        _heads.append(ScriptDirectory(str(MIGRATIONS)).get_current_head() or "")
    return _heads[0]


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
    pk = list(table.primary_key.columns)
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT construct's rowcount under
    # SQLAlchemy 2.1 (found on a real PostgreSQL); a returned key is unambiguous.
    stmt = (dialect_insert(table).values(values)
            .on_conflict_do_nothing(index_elements=[c.name for c in pk]).returning(*pk))
    return conn.execute(stmt).first() is not None


def tables_registered() -> None:
    """Import every module of this package, so tables defined beside their store (e.g.
    ``records/drafts.py``) are registered on ``metadata`` (the migrations compare it)."""
    import records

    for module in pkgutil.iter_modules(records.__path__):
        if module.name != "migrations":
            importlib.import_module(f"records.{module.name}")
