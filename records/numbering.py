"""Municipal document numbers: 第 千代田-罹-2026-000123 号.

A number is the issuing municipality's short name, the document's series mark, the year of
issue (Japan time) and a serial counted per municipality, series and year. It is allocated
**once per document**: keyed by the document's id (which the workflow derives from the case
and step), so a retried issuing activity, after a worker crash too, gets the number it got
the first time, and a number is never handed to a second document.

Two tables: ``document_serials`` holds the last serial of each (municipality, series, year)
and ``document_numbers`` the number of each document, unique per (municipality, series,
year, serial). One transaction increments the counter (an upsert, so the database serializes
concurrent issuers: SQLite by its write lock, PostgreSQL by the row lock) and records the
document's number; when two processes allocate for the same document at once, the second
insert conflicts, its transaction (and increment) is rolled back, and it returns the first
one's number. A serial is thus never skipped by a race, only by a document whose issuing
failed for good after numbering (its number stays reserved to it).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, Engine, Integer, String, Table, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from records.db import insert_ignore, metadata

__all__ = ["DocumentNumber", "DocumentNumbers", "format_number"]

#: The last serial allocated per municipality, series and year.
document_serials = Table(
    "document_serials",
    metadata,
    Column("municipality", String, primary_key=True),
    Column("series", String, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", Integer, nullable=False),
)

#: The number of each numbered document.
document_numbers = Table(
    "document_numbers",
    metadata,
    Column("document_id", String, primary_key=True),
    Column("municipality", String, nullable=False),
    Column("series", String, nullable=False),
    Column("year", Integer, nullable=False),
    Column("serial", Integer, nullable=False),
    Column("number", String, nullable=False),
    UniqueConstraint("municipality", "series", "year", "serial"),
)


class _Rollback(Exception):
    """Another allocation for the same document committed first."""


class DocumentNumber(BaseModel):
    """A document's municipal number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    document_id: str
    municipality: str = Field(description="地方公共団体コード")
    series: str = Field(description="The number's prefix before the year, e.g. 千代田-罹")
    year: int
    serial: int = Field(ge=1)
    number: str = Field(description="As printed between 第 and 号: 千代田-罹-2026-000123")


def format_number(series: str, year: int, serial: int, digits: int = 6) -> str:
    """``千代田-罹``, 2026, 123 → ``千代田-罹-2026-000123``."""
    return f"{series}-{year}-{serial:0{digits}d}"


class DocumentNumbers:
    """The numbering store (same database as the register of issued documents)."""

    def __init__(self, engine: Engine) -> None:
        """:param engine: from :func:`records.db.make_engine`, schema created."""
        self.engine = engine

    def get(self, document_id: str) -> DocumentNumber | None:
        """The number allocated to a document, or None."""
        stmt = select(document_numbers).where(document_numbers.c.document_id == document_id)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else DocumentNumber.model_validate(dict(row))

    def allocate(self, document_id: str, *, municipality: str, series: str, year: int,
                 digits: int = 6) -> DocumentNumber:
        """The document's number: the one allocated before, else the next serial.

        :param series: the prefix before the year, e.g. ``千代田-罹`` (a different series
            for the same document later does not renumber it).
        :param year: the year of issue in Japan time.
        """
        existing = self.get(document_id)
        if existing is not None:
            return existing
        try:
            with self.engine.begin() as conn:
                # The write comes first: on SQLite it takes the database's write lock (and
                # waits for it with the busy timeout) before anything is read.
                serial = _next_serial(conn, municipality, series, year)
                number = DocumentNumber(
                    document_id=document_id, municipality=municipality, series=series,
                    year=year, serial=serial, number=format_number(series, year, serial, digits))
                if not insert_ignore(conn, document_numbers, number.model_dump()):
                    raise _Rollback
        except _Rollback:
            found = self.get(document_id)
            assert found is not None  # the conflicting row is committed
            return found
        return number


def _next_serial(conn: Connection, municipality: str, series: str, year: int) -> int:
    dialect_insert = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
    stmt = dialect_insert(document_serials).values(
        municipality=municipality, series=series, year=year, last=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["municipality", "series", "year"],
        set_={"last": document_serials.c.last + 1},
    ).returning(document_serials.c.last)
    return int(conn.execute(stmt).scalar_one())
