"""Every record store's tests run twice: on a SQLite file (``madoguchi up``) and on a real
PostgreSQL server (deployed). ``db_url`` is a fresh, empty database of either kind;
``engine`` has the schema created on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from records.db import create_schema, make_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    create_schema(engine)
    yield engine
    engine.dispose()
