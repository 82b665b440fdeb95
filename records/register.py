"""The register of issued documents.

Every document the engine issues (a 罹災証明書, a decision notice, ...) is recorded here
with its SHA-256, size and blob key, by the activity that sealed and stored it. The public
verify page and the portal read it; ``status`` says whether the document is still valid.
The seal itself is checked cryptographically elsewhere (``documents``): this register says
what was issued, not whether a file is genuine.

A document can later be **revoked** (withdrawn, with a reason) or **superseded** (replaced
by a newer document, e.g. after a re-survey). Either is final and recorded once, with who
did it, when and why, in ``document_status_changes``. The holder's masked name shown by the
public verify page is kept in its own table (``issued_document_holders``), so installations
whose register predates it need no migration; so are the certified values the page shows
(``issued_document_values``: what the procedure's document definition lists as public,
masked as it says) and the municipal number (``records.numbering``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, Column, Engine, String, Table, select, update
from sqlalchemy.engine import Connection

from records.blobs import validate_key
from records.db import UTCDateTime, insert_ignore, issued_documents, metadata
from records.numbering import document_numbers

__all__ = [
    "CertifiedValue",
    "DocumentNotFound",
    "DocumentRegister",
    "DocumentStatus",
    "IssuedDocument",
    "RegisterError",
    "StatusChange",
    "StatusConflict",
]

DocumentStatus = Literal["valid", "revoked", "superseded"]

#: The masked name of a document's holder (e.g. ``山田 ＊＊＊``), for the public verify page.
document_holders = Table(
    "issued_document_holders",
    metadata,
    Column("document_id", String, primary_key=True),
    Column("holder_masked", String, nullable=False),
)

#: The certified values of a document shown on the public verify page, in both languages.
document_values = Table(
    "issued_document_values",
    metadata,
    Column("document_id", String, primary_key=True),
    Column("certified", JSON, nullable=False),
)

#: Revocations and supersessions: at most one per document (both are final).
document_status_changes = Table(
    "document_status_changes",
    metadata,
    Column("document_id", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("reason", String, nullable=False),
    Column("actor", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("superseded_by", String, nullable=True),
)


class RegisterError(Exception):
    """A change to the register was refused."""


class DocumentNotFound(RegisterError, LookupError):
    """No document with that id is in the register."""


class StatusConflict(RegisterError):
    """The document was already revoked or superseded (differently): ``existing`` says how."""

    def __init__(self, existing: StatusChange) -> None:
        super().__init__(f"document {existing.document_id} is already {existing.status}")
        self.existing = existing


class StatusChange(BaseModel):
    """A revocation or supersession of an issued document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    document_id: str = Field(min_length=1)
    status: Literal["revoked", "superseded"]
    reason: str = Field(min_length=1, max_length=1000, description="Why, in the actor's words")
    actor: str = Field(min_length=1, description="Who: a caseworker's subject id, or a system")
    at: AwareDatetime = Field(description="When; stored as UTC")
    superseded_by: str | None = Field(default=None, description="The replacing document's id")

    @field_validator("at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class CertifiedValue(BaseModel):
    """One certified value as the public verify page shows it (already masked)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: dict[str, str] = Field(description="By language ('ja', 'en')")
    value: dict[str, str] = Field(description="By language ('ja', 'en')")


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
    holder_masked: str | None = Field(
        default=None,
        max_length=200,
        description="The holder's name masked for the public verify page (documents.mask_name)",
    )
    certified: list[CertifiedValue] = Field(
        default_factory=list, max_length=20,
        description="What the document certifies, masked, for the public verify page",
    )
    number: str | None = Field(
        default=None, description="Municipal number (read from records.numbering; not written)")

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
            inserted = insert_ignore(
                conn, issued_documents,
                doc.model_dump(exclude={"holder_masked", "certified", "number"}),
            )
            if inserted and doc.holder_masked is not None:
                insert_ignore(
                    conn,
                    document_holders,
                    {"document_id": doc.id, "holder_masked": doc.holder_masked},
                )
            if inserted and doc.certified:
                insert_ignore(
                    conn,
                    document_values,
                    {"document_id": doc.id,
                     "certified": [v.model_dump() for v in doc.certified]},
                )
            return inserted

    def _select(self):  # type: ignore[no-untyped-def]
        return (
            select(issued_documents, document_holders.c.holder_masked,
                   document_values.c.certified, document_numbers.c.number)
            .outerjoin(document_holders, document_holders.c.document_id == issued_documents.c.id)
            .outerjoin(document_values, document_values.c.document_id == issued_documents.c.id)
            .outerjoin(document_numbers,
                       document_numbers.c.document_id == issued_documents.c.id)
        )

    def get(self, document_id: str) -> IssuedDocument | None:
        """The document with that id, or None."""
        stmt = self._select().where(issued_documents.c.id == document_id)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else _document(row)

    def by_sha256(self, sha256: str) -> IssuedDocument | None:
        """The document whose recorded bytes have this SHA-256 (lowercase hex), or None."""
        stmt = self._select().where(issued_documents.c.sha256 == sha256.lower())
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else _document(row)

    def status_change(self, document_id: str) -> StatusChange | None:
        """How the document was revoked or superseded, or None if it is still valid."""
        stmt = select(document_status_changes).where(
            document_status_changes.c.document_id == document_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else StatusChange.model_validate(dict(row))

    def revoke(self, document_id: str, *, reason: str, actor: str, at: datetime) -> StatusChange:
        """Revoke a document (it stays in the register, marked revoked, with the reason).

        Idempotent: the same revocation again returns the recorded one.

        :raises DocumentNotFound: if the id is not in the register.
        :raises StatusConflict: if it was already revoked or superseded otherwise.
        """
        change = StatusChange(
            document_id=document_id, status="revoked", reason=reason, actor=actor, at=at
        )
        return self._change(change)

    def supersede(
        self, document_id: str, *, by: str, reason: str, actor: str, at: datetime
    ) -> StatusChange:
        """Mark a document as replaced by the document ``by`` (e.g. after a re-survey).

        Idempotent like :meth:`revoke`; meant to be called by the activity that issued the
        replacement, keyed by the two ids.

        :raises DocumentNotFound: if either id is not in the register.
        :raises StatusConflict: if it was already revoked or superseded otherwise.
        """
        change = StatusChange(
            document_id=document_id,
            status="superseded",
            reason=reason,
            actor=actor,
            at=at,
            superseded_by=by,
        )
        return self._change(change)

    def _change(self, change: StatusChange) -> StatusChange:
        with self.engine.begin() as conn:
            ids = [change.document_id] + ([change.superseded_by] if change.superseded_by else [])
            for doc_id in ids:
                if not _exists(conn, doc_id):
                    raise DocumentNotFound(f"document {doc_id} is not in the register")
            if insert_ignore(conn, document_status_changes, change.model_dump()):
                conn.execute(
                    update(issued_documents)
                    .where(issued_documents.c.id == change.document_id)
                    .values(status=change.status)
                )
                return change
            row = (
                conn.execute(
                    select(document_status_changes).where(
                        document_status_changes.c.document_id == change.document_id
                    )
                )
                .mappings()
                .one()
            )
        existing = StatusChange.model_validate(dict(row))
        same = (existing.status, existing.reason, existing.actor, existing.superseded_by) == (
            change.status,
            change.reason,
            change.actor,
            change.superseded_by,
        )
        if not same:
            raise StatusConflict(existing)
        return existing

    def for_application(self, application_id: str) -> list[IssuedDocument]:
        """Every document issued for one application, oldest first."""
        stmt = (
            self._select()
            .where(issued_documents.c.application_id == application_id)
            .order_by(issued_documents.c.issued_at, issued_documents.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [_document(row) for row in rows]


def _document(row: object) -> IssuedDocument:
    values = dict(row)  # type: ignore[call-overload]
    values["certified"] = values.get("certified") or []
    return IssuedDocument.model_validate(values)


def _exists(conn: Connection, document_id: str) -> bool:
    stmt = select(issued_documents.c.id).where(issued_documents.c.id == document_id)
    return conn.execute(stmt).first() is not None
