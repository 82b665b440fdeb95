"""The statistics read model: case milestones (issue #20).

Created only if missing, like the baseline: a database a test (or an older start) made
from the declared tables takes this revision over as it is.

Revision ID: 0003_statistics
Revises: 0002_counter_sessions
Created: 2026-12-02 13:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import records.db

revision = "0003_statistics"
down_revision = "0002_counter_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_milestones",
        sa.Column("application_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("procedure", sa.String(), nullable=False),
        sa.Column("municipality", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("disaster_event", sa.String(), nullable=True),
        sa.Column("standard_days", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("application_id", "key", name=op.f("pk_case_milestones")),
        if_not_exists=True,
    )
    op.create_index(op.f("ix_case_milestones_municipality_procedure"), "case_milestones",
                    ["municipality", "procedure"], unique=False, if_not_exists=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_milestones_municipality_procedure"),
                  table_name="case_milestones")
    op.drop_table("case_milestones")
