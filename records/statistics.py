"""The statistics read model: one row per case milestone (issue #20).

Rows are keyed by (application id, milestone key) and inserted with
:func:`records.db.insert_ignore`, so a retried activity or a rebuild over a live table never
counts a milestone twice. No personal data: the opaque application id, codes and times.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Column, Engine, Index, Integer, String, Table, delete, select

from records.db import UTCDateTime, insert_ignore, metadata
from records.milestones import Milestone

__all__ = ["MilestoneStore", "case_milestones"]

case_milestones = Table(
    "case_milestones",
    metadata,
    Column("application_id", String, primary_key=True),
    Column("key", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("procedure", String, nullable=False),
    Column("municipality", String, nullable=False),
    Column("channel", String, nullable=False),
    Column("disaster_event", String, nullable=True),
    Column("standard_days", Integer, nullable=False),
    Column("stage", String, nullable=True),
    Column("outcome", String, nullable=True),
    Index(None, "municipality", "procedure"),
)


class MilestoneStore:
    """Append and read case milestones."""

    def __init__(self, engine: Engine) -> None:
        """:param engine: from :func:`records.db.make_engine`, schema created."""
        self.engine = engine

    def append(self, milestones: Iterable[Milestone]) -> int:
        """Insert the milestones not yet stored; how many were new."""
        added = 0
        with self.engine.begin() as conn:
            for milestone in milestones:
                added += insert_ignore(conn, case_milestones, milestone.model_dump())
        return added

    def all(self, municipality: str | None = None) -> Iterator[Milestone]:
        """Every milestone (of one municipality), in a stable order."""
        stmt = select(case_milestones).order_by(case_milestones.c.application_id,
                                                case_milestones.c.at, case_milestones.c.key)
        if municipality is not None:
            stmt = stmt.where(case_milestones.c.municipality == municipality)
        with self.engine.connect() as conn:
            for row in conn.execute(stmt).mappings():
                yield Milestone.model_validate(dict(row))

    def replace(self, milestones: Iterable[Milestone]) -> None:
        """Make the given cases' rows exactly these (a rebuild); other cases keep theirs."""
        rows = list(milestones)
        ids = sorted({m.application_id for m in rows})
        with self.engine.begin() as conn:
            for start in range(0, len(ids), 500):
                conn.execute(delete(case_milestones).where(
                    case_milestones.c.application_id.in_(ids[start:start + 500])))
            for milestone in rows:
                insert_ignore(conn, case_milestones, milestone.model_dump())

    def clear(self) -> int:
        """Remove every row (before a rebuild); how many went."""
        with self.engine.begin() as conn:
            return conn.execute(delete(case_milestones)).rowcount or 0
