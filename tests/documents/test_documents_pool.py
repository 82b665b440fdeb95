"""Rendering and sealing in child processes: the same sealed PDF, errors unchanged."""

from __future__ import annotations

import json
import os
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from documents.devpki import DevPKI
from documents.issuer import build_development_issuer
from documents.pool import ProcessPoolIssuer
from documents.render import TemplateError
from documents.seal import load_pem_certificates
from documents.verify import verify_pdf
from forms.catalog import Catalog

JST = timezone(timedelta(hours=9))


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory):
    pki_dir = tmp_path_factory.mktemp("pki")
    issuer = ProcessPoolIssuer(
        (build_development_issuer, (pki_dir, {"131016": "千代田区"}, "http://portal", None)), 2)
    yield issuer, pki_dir
    issuer.close()


def _context() -> dict:
    examples = Catalog.load().get("disaster-certificate").directory / "examples"
    return json.loads((examples / "certificate-context.json").read_text(encoding="utf-8"))


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


def test_render_processes_run_niced_below_the_worker(tmp_path: Path) -> None:
    """Documents are background work: their processes yield the CPU to the worker's."""
    recipe = (build_development_issuer, (tmp_path, {"131016": "千代田区"}, "http://portal", None))
    niced = ProcessPoolIssuer(recipe, 1, nice=5)
    try:
        child = niced._pool.submit(os.nice, 0).result(timeout=60)
    finally:
        niced.close()
    assert child == min(os.nice(0) + 5, 19)
