"""Rendering and sealing in child processes: the same sealed PDF, errors unchanged; every
child warm before the first document; a child that cannot get ready fails the start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    issuer.start()  # as a documents worker does before it polls
    yield issuer, pki_dir
    issuer.close()


def _libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_start_returns_once_every_child_has_rendered_its_warm_up_page(pool):
    issuer, _ = pool
    assert len(issuer.warmed) == 2
    for pid, seconds in issuer.warmed.items():
        assert seconds > 0
        # WeasyPrint's text stack is loaded (it is imported on the first render only).
        maps = _libraries(pid)
        assert "libpango" in maps and "libharfbuzz" in maps, pid


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


def test_a_child_without_a_japanese_font_fails_the_start_with_the_fix(tmp_path: Path):
    """In a fresh interpreter (its own forkserver, so the children see the font setup)."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir>"
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from documents.issuer import WarmUpFailed, build_development_issuer\n"
        "from documents.pool import ProcessPoolIssuer\n"
        f"pool = ProcessPoolIssuer((build_development_issuer, (Path({str(tmp_path / 'pki')!r}),"
        " {'131016': '千代田区'}, 'http://portal', None)), 2)\n"
        "try:\n"
        "    pool.start(timeout=120)\n"
        "except WarmUpFailed as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    env = {"FONTCONFIG_FILE": str(conf), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "JapaneseFontMissing" in done.stdout
    assert "apt-get install fonts-ipaexfont" in done.stdout
