"""``madoguchi verify FILE.pdf``: the real command, in a subprocess, on real sealed files."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from documents.issuer import development_issuer, mask_name
from documents.render import DocumentRenderer
from records.db import create_schema, make_engine
from records.register import DocumentRegister, IssuedDocument
from tests.support.pdfbombs import xref_bomb
from tests.support.pdfedits import update_info

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "forms/catalog/disaster-certificate/templates"
MADOGUCHI = Path(sys.executable).parent / "madoguchi"
DOC_ID = "DOC-C11C11C11C11C11C11C1"
SAMPLE = (Path(__file__).resolve().parents[2]
          / "forms/catalog/disaster-certificate/examples/certificate-context.json")


CONTEXT: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
CONTEXT["document"]["id"] = DOC_ID


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A development data directory: PKI under keys/pki, a register with the document."""
    root = tmp_path_factory.mktemp("var")
    renderer = DocumentRenderer()
    issuer, _ = development_issuer(
        renderer, root / "keys" / "pki", {"131016": "千代田区"}, "https://example.lg.jp"
    )
    other, _ = development_issuer(
        renderer, root / "elsewhere", {"131016": "千代田区"}, "https://example.lg.jp"
    )
    args = dict(document_id=DOC_ID, title="罹災証明書", municipality_code="131016")
    pdf = issuer.issue(TEMPLATES, "certificate.html", CONTEXT, **args)
    (root / "good.pdf").write_bytes(pdf)
    (root / "untrusted.pdf").write_bytes(
        other.issue(TEMPLATES, "certificate.html", CONTEXT, **args)
    )
    flipped = bytearray(pdf)
    flipped[len(flipped) // 4] ^= 1
    (root / "flipped.pdf").write_bytes(bytes(flipped))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    contents = page["/Contents"]
    new = generic.ArrayObject(
        list(contents) if isinstance(contents, generic.ArrayObject) else [contents]
    )
    new.append(
        writer.add_object(generic.StreamObject(stream_data=b"q 1 1 1 rg 150 430 200 30 re f Q"))
    )
    page["/Contents"] = new
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    (root / "updated.pdf").write_bytes(out.getvalue())
    (root / "info.pdf").write_bytes(update_info(pdf))
    (root / "bomb.pdf").write_bytes(xref_bomb())

    engine = make_engine(f"sqlite:///{root / 'madoguchi.db'}")
    create_schema(engine)
    DocumentRegister(engine).record(
        IssuedDocument(
            id=DOC_ID,
            application_id="APP-1",
            procedure="disaster-certificate",
            procedure_version="1",
            municipality="131016",
            document_type="certificate",
            title={"ja": "罹災証明書"},
            filename="certificate.pdf",
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
            blob_key=f"documents/{DOC_ID}.pdf",
            issued_at=datetime(2026, 11, 26, 1, 30, tzinfo=UTC),
            holder_masked=mask_name("山田", "太郎"),
        )
    )
    engine.dispose()
    return root


def verify(data_dir: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MADOGUCHI), "verify", str(data_dir / name), "--data", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_valid_document_exits_zero(data_dir: Path) -> None:
    result = verify(data_dir, "good.pdf")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "good.pdf: valid" in result.stdout and "有効です" in result.stdout
    assert "PAdES B-LTA" in result.stdout and DOC_ID in result.stdout
    as_json = json.loads(verify(data_dir, "good.pdf", "--json").stdout)
    assert as_json["status"] == "valid" and as_json["seal"]["trusted"]
    assert as_json["register"]["status"] == "valid"


@pytest.mark.parametrize(
    ("name", "status"),
    [("flipped.pdf", "tampered"), ("updated.pdf", "tampered"), ("info.pdf", "tampered"),
     ("untrusted.pdf", "unknown_issuer")],
)
def test_not_valid_exits_one_without_traceback(data_dir: Path, name: str, status: str) -> None:
    result = verify(data_dir, name)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{name}: {status}" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_pdf_bomb_cannot_be_checked_and_exits_one_in_time(data_dir: Path) -> None:
    started = time.monotonic()
    result = verify(data_dir, "bomb.pdf")
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bomb.pdf: cannot_check" in result.stdout
    assert "このファイルは確認できません" in result.stdout
    assert "This file cannot be checked" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    # The command's own start (interpreter, pyHanko, the checking child) is most of it.
    assert elapsed < 15, elapsed
    as_json = json.loads(verify(data_dir, "bomb.pdf", "--json").stdout)
    assert as_json["status"] == "cannot_check" and as_json["seal"] is None
    assert as_json["message"]["en"].startswith("This file cannot be checked")


def test_explicit_trust_anchor_and_missing_anchor(data_dir: Path, tmp_path: Path) -> None:
    ok = verify(data_dir, "good.pdf", "--trust", str(data_dir / "keys/pki/root-ca.cert.pem"))
    assert ok.returncode == 0
    other = verify(data_dir, "good.pdf", "--trust", str(data_dir / "elsewhere/root-ca.cert.pem"))
    assert other.returncode == 1 and "unknown_issuer" in other.stdout
    no_anchor = subprocess.run(
        [str(MADOGUCHI), "verify", str(data_dir / "good.pdf"), "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert no_anchor.returncode == 2 and "--trust" in no_anchor.stderr
    assert "Traceback" not in no_anchor.stderr


def test_revoked_document_exits_one(data_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'madoguchi.db'}")
    DocumentRegister(engine).revoke(
        DOC_ID, reason="再調査のため", actor="cw-1", at=datetime.now(UTC)
    )
    engine.dispose()
    result = verify(data_dir, "good.pdf")
    assert result.returncode == 1 and "good.pdf: revoked" in result.stdout
    assert "再調査のため" in result.stdout
