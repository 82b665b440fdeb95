"""Alembic's environment for the read models (run by :func:`records.db.create_schema`).

The connection is always handed in by the caller (``config.attributes["connection"]``):
madoguchi never reads an ``alembic.ini`` or a URL here, so the same code upgrades SQLite
and PostgreSQL from ``madoguchi db upgrade`` and from every process's start.
"""

from __future__ import annotations

from alembic import context

from records.db import metadata, tables_registered

tables_registered()
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: batch mode copies the table, on SQLite only.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
