"""Rendering and sealing in child processes: the same sealed PDF, errors unchanged."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from documents.devpki import DevPKI
from documents.issuer import build_development_issuer
from documents.pool import ProcessPoolIssuer
from documents.render import TemplateError
from documents.seal import load_pem_certificates
from documents.verify import verify_pdf
from forms.catalog import Catalog
from forms.municipalities import load_municipalities

JST = timezone(timedelta(hours=9))


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory):
    pki_dir = tmp_path_factory.mktemp("pki")
    issuer = ProcessPoolIssuer(
        (build_development_issuer, (pki_dir, {"131016": "千代田区"}, "http://portal", None)), 2)
    yield issuer, pki_dir
    issuer.close()


def _context() -> dict:
    procedure = Catalog.load().get("disaster-certificate")
    data = json.loads((procedure.directory / "examples" / "valid-basic.json").read_text())
    chiyoda = load_municipalities()["131016"]
    return {
        "document": {"id": "DOC-POOL", "title": "罹災証明書"},
        "issued_at": datetime(2026, 11, 26, 10, 0, tzinfo=JST),
        "application_id": "app-pool", "municipality": chiyoda.model_dump(mode="json"),
        "disaster_event": chiyoda.disaster_events[0].model_dump(mode="json"), "data": data,
        "survey": {"damage_ratio": 42.5}, "step_data": {},
        "computed": {"damage_grade": {"code": "large_scale_half", "ja": "大規模半壊",
                                      "en": "Large-scale half destruction"}},
    }


def test_documents_issued_in_child_processes_are_sealed_and_valid(pool):
    issuer, pki_dir = pool
    template = Catalog.load().get("disaster-certificate").directory / "templates"
    pdfs = [issuer.issue(template, "certificate.html", _context(), document_id=f"DOC-{n}",
                         title="罹災証明書", municipality_code="131016") for n in range(3)]
    roots = load_pem_certificates(DevPKI.load_or_create(pki_dir).root_cert_path.read_bytes())
    for pdf in pdfs:
        verdict = verify_pdf(pdf, roots)
        assert verdict.ok, verdict


def test_errors_in_a_child_reach_the_caller_unchanged(pool, tmp_path: Path):
    issuer, _ = pool
    (tmp_path / "broken.html").write_text("{{ no_such_variable }}", encoding="utf-8")
    with pytest.raises(TemplateError):
        issuer.issue(tmp_path, "broken.html", {}, document_id="DOC-X", title="x",
                     municipality_code="131016")
