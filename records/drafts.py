"""Drafts: a resident's unfinished form, kept server-side and encrypted at rest.

A draft is read from any device the resident signs in on. Its form data is sealed with
AES-256-GCM under a key ring kept in the data directory (``keys/draft-keys.json``, mode
0600, the same shape as the payload keys), never in the database: a copy of the database
alone reveals no answers. The draft id and owner are bound into the ciphertext as
associated data, so a sealed blob copied onto another row does not decrypt. Each save
re-seals under the active key, so a rotated key takes over as drafts are edited.

``revision`` counts saves: a client that sends the revision it read gets a conflict
instead of silently overwriting what another device saved meanwhile.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)

from records.db import UTCDateTime, metadata

__all__ = ["Draft", "DraftConflict", "DraftStore", "drafts"]

_NONCE_BYTES = 12

drafts = Table(
    "drafts",
    metadata,
    Column("id", String, primary_key=True),
    Column("owner", String, nullable=False),  # the applicant key, never a name
    Column("procedure", String, nullable=False),
    Column("municipality", String, nullable=False),
    Column("key_id", String, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "owner", "updated_at"),
)


class DraftConflict(Exception):
    """The draft was saved elsewhere since the revision the caller read."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the draft is at revision {current}")
        self.current = current


@dataclass(frozen=True)
class Draft:
    id: str
    owner: str
    procedure: str
    municipality: str
    data: dict[str, Any]
    revision: int
    created_at: datetime
    updated_at: datetime


class DraftStore:
    """Encrypted drafts in the read-model store.

    :param engine: from :func:`records.db.make_engine`, schema created.
    :param keys: a ``workflows.codec.KeyRing`` (``keys``: id -> 32 bytes, ``active``).
    """

    def __init__(self, engine: Engine, keys: Any) -> None:
        self.engine = engine
        self._keys = keys
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}

    def _seal(self, draft_id: str, owner: str, data: dict[str, Any]) -> tuple[str, bytes]:
        key_id = self._keys.active
        nonce = secrets.token_bytes(_NONCE_BYTES)
        plain = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        aad = f"{draft_id}|{owner}|{key_id}".encode()
        return key_id, nonce + self._ciphers[key_id].encrypt(nonce, plain, aad)

    def _open(self, row: Any) -> Draft:
        cipher = self._ciphers.get(row.key_id)
        if cipher is None:
            raise KeyError(f"draft {row.id} is sealed with unknown key id {row.key_id!r}")
        aad = f"{row.id}|{row.owner}|{row.key_id}".encode()
        plain = cipher.decrypt(row.sealed[:_NONCE_BYTES], row.sealed[_NONCE_BYTES:], aad)
        return Draft(
            id=row.id,
            owner=row.owner,
            procedure=row.procedure,
            municipality=row.municipality,
            data=json.loads(plain),
            revision=row.revision,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def create(self, owner: str, procedure: str, municipality: str, data: dict[str, Any]) -> Draft:
        draft_id = "drf-" + secrets.token_hex(13)
        now = datetime.now(UTC)
        key_id, sealed = self._seal(draft_id, owner, data)
        with self.engine.begin() as conn:
            conn.execute(
                insert(drafts).values(
                    id=draft_id,
                    owner=owner,
                    procedure=procedure,
                    municipality=municipality,
                    key_id=key_id,
                    sealed=sealed,
                    revision=1,
                    created_at=now,
                    updated_at=now,
                )
            )
        return Draft(draft_id, owner, procedure, municipality, data, 1, now, now)

    def get(self, owner: str, draft_id: str) -> Draft | None:
        """The owner's draft, or ``None`` (also when it is someone else's)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(drafts).where(drafts.c.id == draft_id, drafts.c.owner == owner)
            ).first()
        return None if row is None else self._open(row)

    def list(self, owner: str) -> list[Draft]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(drafts).where(drafts.c.owner == owner).order_by(drafts.c.updated_at.desc())
            ).all()
        return [self._open(row) for row in rows]

    def save(
        self, owner: str, draft_id: str, data: dict[str, Any], revision: int | None = None
    ) -> Draft | None:
        """Replace the draft's data; ``None`` if the owner has no such draft.

        :raises DraftConflict: if ``revision`` is given and is not the stored one.
        """
        key_id, sealed = self._seal(draft_id, owner, data)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            current = conn.execute(
                select(drafts.c.revision).where(drafts.c.id == draft_id, drafts.c.owner == owner)
            ).scalar()
            if current is None:
                return None
            if revision is not None and revision != current:
                raise DraftConflict(current)
            # Compare-and-set on the revision: two devices saving at once, one wins.
            done = conn.execute(
                update(drafts)
                .where(
                    drafts.c.id == draft_id,
                    drafts.c.owner == owner,
                    drafts.c.revision == current,
                )
                .values(key_id=key_id, sealed=sealed, revision=current + 1, updated_at=now)
            )
            if done.rowcount != 1:
                raise DraftConflict(current + 1)
        return self.get(owner, draft_id)

    def delete(self, owner: str, draft_id: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                delete(drafts).where(drafts.c.id == draft_id, drafts.c.owner == owner)
            )
        return done.rowcount == 1
