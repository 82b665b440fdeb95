"""DocumentRegister on SQLite and PostgreSQL (tests/records/conftest.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from records.register import DocumentRegister, IssuedDocument

JST = timezone(timedelta(hours=9))
PDF = b"%PDF-1.7 certificate"
SHA = hashlib.sha256(PDF).hexdigest()


@pytest.fixture
def register(engine):
    return DocumentRegister(engine)


def document(doc_id: str = "wf-1:certificate", **changes) -> IssuedDocument:
    fields = {
        "id": doc_id,
        "application_id": "wf-1",
        "procedure": "disaster-certificate",
        "procedure_version": "1.0.0",
        "municipality": "042021",
        "document_type": "certificate",
        "title": {"ja": "罹災証明書", "en": "Disaster damage certificate"},
        "filename": "risai-shomeisho.pdf",
        "sha256": SHA,
        "size": len(PDF),
        "blob_key": f"documents/{SHA[:2]}/{SHA}.pdf",
        "issued_at": datetime(2026, 4, 2, 10, 15, 30, 250000, tzinfo=JST),
    }
    return IssuedDocument(**(fields | changes))


def test_record_get_round_trip_keeps_aware_utc_datetimes(register):
    doc = document()
    assert register.record(doc) is True
    stored = register.get(doc.id)
    assert stored == doc
    assert stored.issued_at.tzinfo == UTC
    assert stored.issued_at == datetime(2026, 4, 2, 1, 15, 30, 250000, tzinfo=UTC)
    assert stored.media_type == "application/pdf"
    assert stored.status == "valid"


def test_record_is_insert_or_ignore_by_id(register):
    assert register.record(document()) is True
    other_hash = "0" * 64
    assert register.record(document(sha256=other_hash, status="revoked")) is False
    stored = register.get("wf-1:certificate")
    assert stored.sha256 == SHA
    assert stored.status == "valid"


def test_get_unknown_is_none(register):
    assert register.get("nope") is None


def test_for_application_oldest_first(register):
    later = datetime(2026, 5, 1, tzinfo=UTC)
    register.record(document("wf-1:certificate:2", issued_at=later, status="valid"))
    register.record(document("wf-1:certificate", status="superseded"))
    register.record(document("wf-2:certificate", application_id="wf-2"))
    found = register.for_application("wf-1")
    assert [(d.id, d.status) for d in found] == [
        ("wf-1:certificate", "superseded"),
        ("wf-1:certificate:2", "valid"),
    ]
    assert register.for_application("wf-3") == []


@pytest.mark.parametrize(
    "change",
    [
        {"issued_at": datetime(2026, 4, 2, 10, 15)},
        {"sha256": SHA.upper()},
        {"sha256": SHA[:-1]},
        {"size": -1},
        {"status": "cancelled"},
        {"blob_key": "../outside.pdf"},
    ],
)
def test_invalid_documents_are_refused(change):
    with pytest.raises(ValidationError):
        document(**change)
