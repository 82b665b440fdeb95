"""Counter sessions, their prepared filings, digital-support helper codes (issue #19).

Idempotent like the baseline: a database whose tables were made from the metadata keeps
them.

Revision ID: 0002_counter_sessions
Revises: 0001_baseline
Created: 2026-12-02 13:01:33
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import records.db

revision = "0002_counter_sessions"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counter_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("staff_issuer", sa.String(), nullable=False),
        sa.Column("staff_subject", sa.String(), nullable=False),
        sa.Column("staff_name", sa.String(), nullable=True),
        sa.Column("municipality", sa.String(length=6), nullable=False),
        sa.Column("counter_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("resident", sa.JSON(), nullable=False),
        sa.Column("opened_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", records.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_sessions")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_counter_sessions_staff_subject"),
        "counter_sessions",
        ["staff_subject"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "counter_filings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("prepared_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["counter_sessions.id"],
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_filings")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_counter_filings_session_id"),
        "counter_filings",
        ["session_id"],
        unique=False,
        if_not_exists=True,
    )


    op.create_table(
        "counter_helper_codes",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("helper_issuer", sa.String(), nullable=False),
        sa.Column("helper_subject", sa.String(), nullable=False),
        sa.Column("municipality", sa.String(length=6), nullable=False),
        sa.Column("expires_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_counter_helper_codes")),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("counter_helper_codes")
    with op.batch_alter_table("counter_filings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counter_filings_session_id"))

    op.drop_table("counter_filings")
    with op.batch_alter_table("counter_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counter_sessions_staff_subject"))

    op.drop_table("counter_sessions")
