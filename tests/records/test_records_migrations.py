"""The read models' schema as Alembic revisions, on SQLite and PostgreSQL: created on an
empty database, upgraded on an existing one (also one made before there were migrations),
by many processes starting at once, and by ``madoguchi db upgrade``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.schema import CreateIndex, CreateTable

from records.db import (
    create_schema,
    head_revision,
    inbox_entries,
    insert_ignore,
    make_engine,
    metadata,
    schema_revision,
    tables_registered,
)

REPO = Path(__file__).resolve().parents[2]


def _drift(engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def test_an_empty_database_gets_the_whole_schema_at_the_newest_revision(db_url):
    engine = make_engine(db_url)
    assert schema_revision(engine) is None
    create_schema(engine)
    assert schema_revision(engine) == head_revision()
    tables_registered()
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    # What the revisions build is exactly what the code declares: a table or column added
    # to records/ without a revision fails here, naming it.
    assert _drift(engine) == [], "add a revision in records/migrations/versions"
    engine.dispose()


def test_an_existing_database_keeps_its_rows_and_upgrading_again_changes_nothing(engine):
    row = {"key": "k", "recipient": "applicant:r", "application_id": "wf-1", "event": "e",
           "title": {"ja": "題", "en": "t"}, "body": {"ja": "本文", "en": "b"},
           "created_at": datetime(2026, 10, 1, tzinfo=UTC), "read": False}
    with engine.begin() as conn:
        insert_ignore(conn, inbox_entries, row)
    create_schema(engine)
    create_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(select(inbox_entries.c.key)).scalars().all() == ["k"]
    assert schema_revision(engine) == head_revision()


def test_a_database_made_before_migrations_upgrades_in_place(db_url):
    """Releases before #22 created the tables with CREATE ... IF NOT EXISTS and kept no
    revision: the baseline takes such a database over as it is, rows included."""
    engine = make_engine(db_url)
    tables_registered()
    with engine.begin() as conn:  # what create_schema did before
        for table in metadata.sorted_tables:
            conn.execute(CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                conn.execute(CreateIndex(index, if_not_exists=True))
        insert_ignore(conn, inbox_entries, {
            "key": "old", "recipient": "r", "application_id": "wf-0", "event": "e",
            "title": {}, "body": {}, "created_at": datetime(2026, 1, 1, tzinfo=UTC),
            "read": True})
    assert schema_revision(engine) is None
    create_schema(engine)
    assert schema_revision(engine) == head_revision()
    assert _drift(engine) == []
    with engine.connect() as conn:
        assert conn.execute(select(inbox_entries.c.key)).scalars().all() == ["old"]
    engine.dispose()


_STARTER = """
import sys, time
from records.db import create_schema, make_engine
url, start_at = sys.argv[1], float(sys.argv[2])
engine = make_engine(url)
while time.time() < start_at:
    time.sleep(0.001)
create_schema(engine)
"""


def test_processes_starting_at_once_on_an_empty_database_all_succeed(db_url):
    """A rollout starts web and workers together: one creates, the others wait and find
    nothing to do (no 'table already exists', no duplicate revision row)."""
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    start_at = str(time.time() + 2.5)
    procs = [subprocess.Popen([sys.executable, "-c", _STARTER, db_url, start_at], env=env,
                              cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [e[-1500:] for e in errors]
    engine = make_engine(db_url)
    assert schema_revision(engine) == head_revision() and _drift(engine) == []
    engine.dispose()


def test_madoguchi_db_upgrade_and_current(db_url, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from madoguchi.cli import main

    for name in [k for k in os.environ if k.startswith("MADOGUCHI_")]:
        monkeypatch.delenv(name)
    env = {"MADOGUCHI_DATA_DIR": str(tmp_path), "MADOGUCHI_DATABASE_URL": db_url}

    def madoguchi(*args: str):
        return CliRunner().invoke(main, ["db", *args], env=env)

    before = madoguchi("current")
    assert before.exit_code == 1 and "database: (empty)" in before.output
    first = madoguchi("upgrade")
    assert first.exit_code == 0, first.output
    assert f"(empty) -> {head_revision()}" in first.output
    again = madoguchi("upgrade")
    assert again.exit_code == 0 and "nothing to do" in again.output
    now = madoguchi("current")
    assert now.exit_code == 0 and f"database: {head_revision()}" in now.output
