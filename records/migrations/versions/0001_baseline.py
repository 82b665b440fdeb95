"""The read models as they were when migrations began (issue #22).

Every table and index is created only if missing: a database made before there were
migrations (``CREATE ... IF NOT EXISTS`` at each start) upgrades to this revision as it is.

Revision ID: 0001_baseline
Revises: -
Created: 2026-12-02 05:54:13.605624
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import records.db

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("procedure", sa.String(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("blob_key", sa.String(), nullable=False),
        sa.Column("created_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_attachments_owner"), "attachments", ["owner"], unique=False, if_not_exists=True
    )

    op.create_table(
        "document_numbers",
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("municipality", sa.String(), nullable=False),
        sa.Column("series", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_numbers")),
        sa.UniqueConstraint(
            "municipality",
            "series",
            "year",
            "serial",
            name=op.f("uq_document_numbers_municipality_series_year_serial"),
        ),
        if_not_exists=True,
    )
    op.create_table(
        "document_serials",
        sa.Column("municipality", sa.String(), nullable=False),
        sa.Column("series", sa.String(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("municipality", "series", "year", name=op.f("pk_document_serials")),
        if_not_exists=True,
    )
    op.create_table(
        "document_status_changes",
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("superseded_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_status_changes")),
        if_not_exists=True,
    )
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("procedure", sa.String(), nullable=False),
        sa.Column("municipality", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_drafts_owner_updated_at"),
        "drafts",
        ["owner", "updated_at"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "inbox_entries",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("application_id", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inbox_entries")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_inbox_entries_application_id"),
        "inbox_entries",
        ["application_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_inbox_entries_recipient_created_at"),
        "inbox_entries",
        ["recipient", "created_at"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "issued_document_holders",
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("holder_masked", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_issued_document_holders")),
        if_not_exists=True,
    )
    op.create_table(
        "issued_document_values",
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("certified", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_issued_document_values")),
        if_not_exists=True,
    )
    op.create_table(
        "issued_documents",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("application_id", sa.String(), nullable=False),
        sa.Column("procedure", sa.String(), nullable=False),
        sa.Column("procedure_version", sa.String(), nullable=False),
        sa.Column("municipality", sa.String(), nullable=False),
        sa.Column("document_type", sa.String(), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("blob_key", sa.String(), nullable=False),
        sa.Column("issued_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_documents")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_issued_documents_application_id"),
        "issued_documents",
        ["application_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_issued_documents_sha256"),
        "issued_documents",
        ["sha256"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "notice_deliveries",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("application_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("handed_over", sa.Boolean(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("fallback", sa.String(), nullable=True),
        sa.Column("first_attempt_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", records.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_notice_deliveries")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_notice_deliveries_application_id"),
        "notice_deliveries",
        ["application_id"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "notice_delivery_parts",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("part", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key", "part", name=op.f("pk_notice_delivery_parts")),
        if_not_exists=True,
    )
    op.create_table(
        "notice_preferences",
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("push_enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("recipient", name=op.f("pk_notice_preferences")),
        if_not_exists=True,
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("endpoint", sa.String(), nullable=False),
        sa.Column("p256dh", sa.String(), nullable=False),
        sa.Column("auth", sa.String(), nullable=False),
        sa.Column("created_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_push_subscriptions_recipient"),
        "push_subscriptions",
        ["recipient"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "used_token_ids",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_used_token_ids")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_used_token_ids_expires_at"),
        "used_token_ids",
        ["expires_at"],
        unique=False,
        if_not_exists=True,
    )

    op.create_table(
        "web_sessions",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("csrf", sa.String(length=128), nullable=True),
        sa.Column("revoked_at", records.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", records.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_web_sessions")),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_web_sessions_expires_at"),
        "web_sessions",
        ["expires_at"],
        unique=False,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_web_sessions_expires_at"), table_name="web_sessions")

    op.drop_table("web_sessions")
    op.drop_index(op.f("ix_used_token_ids_expires_at"), table_name="used_token_ids")

    op.drop_table("used_token_ids")
    op.drop_index(op.f("ix_push_subscriptions_recipient"), table_name="push_subscriptions")

    op.drop_table("push_subscriptions")
    op.drop_table("notice_preferences")
    op.drop_table("notice_delivery_parts")
    op.drop_index(op.f("ix_notice_deliveries_application_id"), table_name="notice_deliveries")

    op.drop_table("notice_deliveries")
    op.drop_index(op.f("ix_issued_documents_sha256"), table_name="issued_documents")
    op.drop_index(op.f("ix_issued_documents_application_id"), table_name="issued_documents")

    op.drop_table("issued_documents")
    op.drop_table("issued_document_values")
    op.drop_table("issued_document_holders")
    op.drop_index(op.f("ix_inbox_entries_recipient_created_at"), table_name="inbox_entries")
    op.drop_index(op.f("ix_inbox_entries_application_id"), table_name="inbox_entries")

    op.drop_table("inbox_entries")
    op.drop_index(op.f("ix_drafts_owner_updated_at"), table_name="drafts")

    op.drop_table("drafts")
    op.drop_table("document_status_changes")
    op.drop_table("document_serials")
    op.drop_table("document_numbers")
    op.drop_index(op.f("ix_attachments_owner"), table_name="attachments")

    op.drop_table("attachments")
