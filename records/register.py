"""The register of issued documents.

Every document the engine issues (a 罹災証明書, a decision notice, ...) is recorded here
with its SHA-256, size and blob key, by the activity that sealed and stored it. The public
verify page and the portal read it; ``status`` says whether the document is still valid.
The seal itself is checked cryptographically elsewhere (``documents``): this register says
what was issued, not whether a file is genuine.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine, select

from records.blobs import validate_key
from records.db import insert_ignore, issued_documents

__all__ = ["DocumentRegister", "DocumentStatus", "IssuedDocument"]

DocumentStatus = Literal["valid", "revoked", "superseded"]


class IssuedDocument(BaseModel):
    """One issued document, as recorded in the register."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="Document id, derived from workflow id + step")
    application_id: str = Field(min_length=1)
    procedure: str = Field(min_length=1, description="Procedure id, e.g. disaster-certificate")
    procedure_version: str = Field(min_length=1, description="Pinned procedure version")
    municipality: str = Field(min_length=1, description="地方公共団体コード of the issuer")
    document_type: str = Field(min_length=1, description="Document id in the procedure")
    title: dict[str, str] = Field(description="Title by language ('ja', 'en')")
    filename: str = Field(min_length=1)
    media_type: str = "application/pdf"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Lowercase hex SHA-256")
    size: int = Field(ge=0, description="Size in bytes")
    blob_key: str = Field(description="Key of the bytes in the blob store")
    issued_at: AwareDatetime = Field(description="Issue time; stored as UTC")
    status: DocumentStatus = "valid"

    @field_validator("issued_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_validator("blob_key")
    @classmethod
    def _valid_blob_key(cls, value: str) -> str:
        return validate_key(value)


class DocumentRegister:
    """Issued documents in the read-model store."""

    def __init__(self, engine: Engine) -> None:
        """:param engine: from :func:`records.db.make_engine`, schema created."""
        self.engine = engine

    def record(self, doc: IssuedDocument) -> bool:
        """Record an issued document unless its id is already recorded.

        An existing record is never changed: a retried issuing activity cannot replace the
        hash of a document already handed out.

        :returns: True if recorded now, False if the id was already in the register.
        """
        with self.engine.begin() as conn:
            return insert_ignore(conn, issued_documents, doc.model_dump())

    def get(self, document_id: str) -> IssuedDocument | None:
        """The document with that id, or None."""
        stmt = select(issued_documents).where(issued_documents.c.id == document_id)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else IssuedDocument.model_validate(dict(row))

    def for_application(self, application_id: str) -> list[IssuedDocument]:
        """Every document issued for one application, oldest first."""
        stmt = (
            select(issued_documents)
            .where(issued_documents.c.application_id == application_id)
            .order_by(issued_documents.c.issued_at, issued_documents.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [IssuedDocument.model_validate(dict(row)) for row in rows]
