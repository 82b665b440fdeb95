"""Municipal document numbers: once per document, never reused, per municipality, series
and year, also when two processes or threads issue at the same moment."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from records.db import create_schema, make_engine
from records.numbering import DocumentNumbers, document_numbers, format_number

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_url(db_url: str) -> str:
    """The backend's database (tests/records/conftest.py), with the schema."""
    engine = make_engine(db_url)
    create_schema(engine)
    engine.dispose()
    return db_url


def test_format() -> None:
    assert format_number("千代田-罹", 2026, 123) == "千代田-罹-2026-000123"
    assert format_number("横浜-補決", 2027, 5, digits=4) == "横浜-補決-2027-0005"


def test_allocation_is_once_per_document_and_counts_per_series_and_year(db_url: str) -> None:
    numbers = DocumentNumbers(make_engine(db_url))
    a = numbers.allocate("DOC-A", municipality="131016", series="千代田-罹", year=2026)
    assert a.number == "千代田-罹-2026-000001"
    # A retry (same document) gets the same number, even if asked with another series.
    assert numbers.allocate("DOC-A", municipality="131016", series="千代田-罹", year=2026) == a
    assert numbers.allocate("DOC-A", municipality="131016", series="千代田-補決",
                            year=2027) == a
    b = numbers.allocate("DOC-B", municipality="131016", series="千代田-罹", year=2026)
    assert b.serial == 2
    other_series = numbers.allocate("DOC-C", municipality="131016", series="千代田-補決",
                                    year=2026)
    other_year = numbers.allocate("DOC-D", municipality="131016", series="千代田-罹", year=2027)
    other_town = numbers.allocate("DOC-E", municipality="141003", series="横浜-罹", year=2026)
    assert other_series.serial == other_year.serial == other_town.serial == 1
    assert numbers.get("DOC-B") == b and numbers.get("DOC-Z") is None


def test_a_number_cannot_be_recorded_twice(db_url: str) -> None:
    engine = make_engine(db_url)
    DocumentNumbers(engine).allocate("DOC-A", municipality="131016", series="千代田-罹",
                                     year=2026)
    row = {"document_id": "DOC-B", "municipality": "131016", "series": "千代田-罹",
           "year": 2026, "serial": 1, "number": "千代田-罹-2026-000001"}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(document_numbers.insert().values(row))


def test_threads_issuing_at_once_get_distinct_numbers(db_url: str) -> None:
    engine = make_engine(db_url)
    numbers = DocumentNumbers(engine)

    def allocate(i: int) -> str:
        # Every document asked for twice, by different threads.
        return numbers.allocate(f"DOC-{i % 40}", municipality="131016", series="千代田-罹",
                                year=2026).number

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(allocate, range(80)))
    by_doc: dict[str, set[str]] = {}
    for i, number in enumerate(got):
        by_doc.setdefault(f"DOC-{i % 40}", set()).add(number)
    assert all(len(v) == 1 for v in by_doc.values()), by_doc
    serials = sorted(int(next(iter(v)).rsplit("-", 1)[1]) for v in by_doc.values())
    assert serials == list(range(1, 41))  # distinct, and no serial lost to a race


_WORKER = """
import sys
from records.db import make_engine
from records.numbering import DocumentNumbers
url, start = sys.argv[1], int(sys.argv[2])
numbers = DocumentNumbers(make_engine(url))
for i in range(60):
    doc = f"DOC-{(start + i) % 90}"
    n = numbers.allocate(doc, municipality="131016", series="千代田-罹", year=2026)
    print(doc, n.number, flush=True)
"""


def test_two_processes_issuing_at_once_get_distinct_numbers(db_url: str) -> None:
    import subprocess

    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, db_url, str(start)],
                              stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
             for start in (0, 30)]  # 30 documents asked for by both
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    pairs = [line.split() for out in outputs for line in out.splitlines()]
    assert len(pairs) == 120
    by_doc: dict[str, set[str]] = {}
    for doc, number in pairs:
        by_doc.setdefault(doc, set()).add(number)
    assert len(by_doc) == 90
    assert all(len(v) == 1 for v in by_doc.values())  # one number per document
    numbers = [next(iter(v)) for v in by_doc.values()]
    assert len(set(numbers)) == 90  # never the same number for two documents
