"""Cheaper rendering must not change what is printed: the 罹災証明書 and the 申請控え,
issued from fixed inputs by this code, look like the references rendered by the code
before the render work of issue #21 (main at 80024c2) — and are still sealed PDF/A.

References: ``tests/fixtures/documents/visual/<document>-<page>.png``, grey, 60 dpi,
pages of PDFs written by the baseline tree from ``tests/fixtures/documents/contexts.json``:

    PYTHONPATH=/work/baseline .venv/bin/python -P benchmarks/_documents_child.py \\
        certificate 1 --write /tmp/certificate.pdf
    pdftoppm -r 60 -gray -png /tmp/certificate.pdf tests/fixtures/documents/visual/certificate

Tolerance: after a Gaussian blur of 1 px (antialiasing and a vector QR code's edges
against an image's differ by a hairline), fewer than 0.5 % of a page's pixels may differ
by more than 32 grey levels of 255. A moved line of text, a changed font size or a lost
QR code changes several percent.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageFilter

from documents.issuer import development_issuer
from documents.render import DocumentRenderer
from documents.seal import load_pem_certificates
from documents.verify import verify_pdf
from tests.support.pdfa import pdfa_problems

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests/fixtures/documents"
REFERENCES = FIXTURES / "visual"
PUBLIC_URL = "https://madoguchi.example.lg.jp"
DPI = 60
#: Grey levels (of 255) a blurred pixel may differ by and still count as equal.
LEVELS = 32
#: Share of a page's pixels that may differ.
TOLERANCE = 0.005
DOCUMENTS = ["certificate", "application-copy"]


def _decode(value: dict[str, Any]) -> Any:
    return datetime.fromisoformat(value["$datetime"]) if "$datetime" in value else value


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both documents issued (rendered, sealed, timestamped) from the fixed inputs."""
    tmp = tmp_path_factory.mktemp("visual")
    cases = json.loads((FIXTURES / "contexts.json").read_text("utf-8"), object_hook=_decode)
    issuer, pki = development_issuer(DocumentRenderer(), tmp / "pki", {"131016": "千代田区"},
                                     PUBLIC_URL)
    paths = {}
    for name in DOCUMENTS:
        case = cases[name]
        pdf = issuer.issue(REPO / case["templates"], case["template"], case["context"],
                           document_id=case["document_id"], title=case["title"],
                           municipality_code=case["municipality_code"])
        paths[name] = tmp / f"{name}.pdf"
        paths[name].write_bytes(pdf)
    return {"paths": paths, "roots": load_pem_certificates(pki.root_cert_path.read_bytes()),
            "tmp": tmp}


def _pages(pdf: Path, out: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", str(pdf), str(out)],
                   check=True, timeout=60)
    return sorted(out.parent.glob(f"{out.name}-*.png"))


def differing_share(a: Image.Image, b: Image.Image) -> float:
    """Share of pixels that differ by more than :data:`LEVELS` after a 1 px blur."""
    assert a.size == b.size, (a.size, b.size)
    blur = ImageFilter.GaussianBlur(1)
    diff = ImageChops.difference(a.convert("L").filter(blur), b.convert("L").filter(blur))
    return sum(diff.histogram()[LEVELS + 1:]) / (a.width * a.height)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_issued_document_looks_as_before(issued: dict[str, Any], name: str) -> None:
    pages = _pages(issued["paths"][name], issued["tmp"] / name)
    references = sorted(REFERENCES.glob(f"{name}-*.png"))
    assert references, "reference pages missing"
    assert [p.name for p in pages] == [r.name for r in references], "page count changed"
    for page, reference in zip(pages, references, strict=True):
        share = differing_share(Image.open(page), Image.open(reference))
        assert share < TOLERANCE, f"{page.name}: {share:.2%} of the pixels differ"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_issued_document_is_still_sealed_pdf_a(issued: dict[str, Any], name: str) -> None:
    path = issued["paths"][name]
    assert pdfa_problems(path) == []
    verdict = verify_pdf(path.read_bytes(), issued["roots"])
    assert verdict.outcome == "valid" and verdict.intact and verdict.timestamp_valid, verdict
    assert verdict.level == "B-LTA"


def test_the_comparison_sees_a_changed_page(issued: dict[str, Any]) -> None:
    """The tolerance is not so loose that a visibly different page passes."""
    reference = Image.open(REFERENCES / "certificate-1.png").convert("L")
    shifted = Image.new("L", reference.size, 255)
    shifted.paste(reference, (0, 6))  # every line 2.5 mm lower
    assert differing_share(reference, shifted) > TOLERANCE
    other = Image.open(REFERENCES / "application-copy-1.png")
    assert differing_share(reference, other) > TOLERANCE
