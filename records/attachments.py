"""Metadata of uploaded attachments; the bytes are in the blob store (``attachments/<id>``).

An attachment belongs to the applicant who uploaded it (``owner``, the opaque applicant
key): only they can reference it from a form, and validation treats anyone else's id as
unknown. ``media_type`` is what the bytes are (sniffed), ``filename`` a sanitized name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Engine, Index, Integer, String, Table, insert, select

from records.db import UTCDateTime, metadata

__all__ = ["Attachment", "AttachmentStore", "attachments"]

attachments = Table(
    "attachments",
    metadata,
    Column("id", String, primary_key=True),
    Column("owner", String, nullable=False),
    Column("procedure", String, nullable=False),
    Column("field", String, nullable=False),
    Column("media_type", String, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("filename", String, nullable=False),
    Column("blob_key", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "owner"),
)


@dataclass(frozen=True)
class Attachment:
    id: str
    owner: str
    procedure: str
    field: str
    media_type: str
    size: int
    sha256: str
    filename: str
    blob_key: str
    created_at: datetime


class AttachmentStore:
    """Attachment rows; satisfies ``forms.filing.AttachmentLookup``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, attachment: Attachment) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(attachments).values(**attachment.__dict__))

    def get(self, attachment_id: str) -> Attachment | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(attachments).where(attachments.c.id == attachment_id)).first()
        return None if row is None else Attachment(**row._mapping)
