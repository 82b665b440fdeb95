"""verify_pdf against real sealed files: valid, and each way a file can fail."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper

from documents.devpki import DevPKI
from documents.issuer import development_issuer
from documents.render import DocumentRenderer
from documents.seal import load_pem_certificates
from documents.timestamps import LocalTimestampAuthority
from documents.verify import Verdict, overall_status, verify_pdf

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "forms/catalog/disaster-certificate/templates"
SAMPLE = (Path(__file__).resolve().parents[2]
          / "forms/catalog/disaster-certificate/examples/certificate-context.json")


CONTEXT: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
CONTEXT["document"]["id"] = "DOC-V1"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    renderer = DocumentRenderer()
    base = tmp_path_factory.mktemp("verify")
    issuer, pki = development_issuer(
        renderer, base / "pki", {"131016": "千代田区"}, "https://example.lg.jp"
    )
    other, _ = development_issuer(
        renderer, base / "other-pki", {"131016": "千代田区"}, "https://example.lg.jp"
    )
    args = dict(document_id="DOC-V1", title="罹災証明書", municipality_code="131016")
    return {
        "roots": load_pem_certificates(pki.root_cert_path.read_bytes()),
        "sealed": issuer.issue(TEMPLATES, "certificate.html", CONTEXT, **args),
        "untrusted": other.issue(TEMPLATES, "certificate.html", CONTEXT, **args),
        "unsealed": renderer.render_pdf(
            TEMPLATES, "certificate.html", CONTEXT, identifier="DOC-V1", title="罹災証明書"
        ),
        "pki": pki,
    }


def flip_byte(data: bytes) -> bytes:
    # In the middle of the signed range (the page content), not in the signature itself.
    out = bytearray(data)
    out[len(out) // 4] ^= 0x01
    return bytes(out)


def append_text_update(data: bytes) -> bytes:
    """An incremental update that paints over the damage grade and writes other text."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page_ref, resources = writer.find_page_for_modification(0)
    fonts = resources.get_object().get("/Font") or generic.DictionaryObject()
    fonts = fonts.get_object()
    font_name = next(iter(fonts.keys()), "/F1")
    content = (
        b"q 1 1 1 rg 150 430 200 30 re f Q BT "
        + str(font_name).encode()
        + b" 14 Tf 160 440 Td <0001000200030004> Tj ET"
    )
    stream = generic.StreamObject(stream_data=content)
    page = page_ref.get_object()
    old = page["/Contents"]
    contents = generic.ArrayObject(list(old) if isinstance(old, generic.ArrayObject) else [old])
    contents.append(writer.add_object(stream))
    page["/Contents"] = contents
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def update_info(data: bytes, title: str = "取消済み") -> bytes:
    """An incremental update that changes only the document information (/Info)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    info = writer.trailer["/Info"]
    info[generic.NameObject("/Title")] = generic.TextStringObject(title)
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def update_xmp_title(data: bytes) -> bytes:
    """An incremental update that changes only the XMP title a viewer shows."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    old = writer.root["/Metadata"].data
    xmp = old.replace("罹災証明書".encode(), "取消済み".encode())
    assert xmp != old
    stream = generic.StreamObject(
        {generic.NameObject("/Type"): generic.NameObject("/Metadata"),
         generic.NameObject("/Subtype"): generic.NameObject("/XML")},
        stream_data=xmp,
    )
    writer.root[generic.NameObject("/Metadata")] = writer.add_object(stream)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def add_document_timestamp(data: bytes, pki: DevPKI) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    out = io.BytesIO()
    PdfTimeStamper(LocalTimestampAuthority.from_pki(pki)).timestamp_pdf(
        writer, "sha256", output=out)
    return out.getvalue()


def test_issued_document_is_valid(files: dict[str, Any]) -> None:
    verdict = verify_pdf(files["sealed"], files["roots"])
    assert verdict.outcome == "valid" and verdict.problems == ()
    assert verdict.message["en"].startswith("Valid")


def test_one_flipped_byte_is_tampered(files: dict[str, Any]) -> None:
    verdict = verify_pdf(flip_byte(files["sealed"]), files["roots"])
    assert verdict.outcome == "tampered", verdict
    assert not verdict.intact


def test_appended_update_that_changes_text_is_tampered(files: dict[str, Any]) -> None:
    changed = append_text_update(files["sealed"])
    assert changed.startswith(files["sealed"])  # the original bytes are untouched
    verdict = verify_pdf(changed, files["roots"])
    assert verdict.outcome == "tampered", verdict
    assert not verdict.intact
    assert "modified_after_seal" in verdict.problems


@pytest.mark.parametrize("change", ["info", "xmp"])
def test_update_that_changes_only_metadata_is_tampered(files: dict[str, Any], change: str) -> None:
    changed = (update_info if change == "info" else update_xmp_title)(files["sealed"])
    assert changed.startswith(files["sealed"])
    verdict = verify_pdf(changed, files["roots"])
    assert verdict.outcome == "tampered", verdict
    assert not verdict.intact and verdict.valid and verdict.trusted  # the seal itself holds
    assert "metadata_changed_after_seal" in verdict.problems
    assert "modified_after_seal" in verdict.problems


def test_metadata_change_covered_by_a_later_document_timestamp_is_tampered(
    files: dict[str, Any],
) -> None:
    # Anyone can have a public TSA timestamp a file: a document timestamp after the
    # change does not make it the issuer's.
    changed = add_document_timestamp(update_info(files["sealed"]), files["pki"])
    verdict = verify_pdf(changed, files["roots"])
    assert verdict.outcome == "tampered", verdict
    assert "metadata_changed_after_seal" in verdict.problems


def test_a_later_document_timestamp_alone_keeps_the_document_valid(
    files: dict[str, Any],
) -> None:
    extended = add_document_timestamp(files["sealed"], files["pki"])
    verdict = verify_pdf(extended, files["roots"])
    assert verdict.outcome == "valid", verdict
    assert "metadata_changed_after_seal" not in verdict.problems


def test_seal_by_an_untrusted_key_is_unknown_issuer(files: dict[str, Any]) -> None:
    verdict = verify_pdf(files["untrusted"], files["roots"])
    assert verdict.outcome == "unknown_issuer", verdict
    assert verdict.intact and verdict.valid and not verdict.trusted


def test_no_trust_roots_means_unknown_issuer(files: dict[str, Any]) -> None:
    assert verify_pdf(files["sealed"], []).outcome == "unknown_issuer"


@pytest.mark.parametrize("name", ["unsealed", "garbage", "empty", "truncated"])
def test_not_sealed(files: dict[str, Any], name: str) -> None:
    data = {
        "unsealed": files["unsealed"],
        "garbage": b"%PDF-1.7\nnot really",
        "empty": b"",
        "truncated": files["sealed"][:2000],
    }[name]
    assert verify_pdf(data, files["roots"]).outcome == "not_sealed"


def test_overall_status_combines_seal_and_register() -> None:
    valid = Verdict(outcome="valid", intact=True, valid=True, trusted=True)
    tampered = Verdict(outcome="tampered")
    assert overall_status(valid, "valid") == "valid"
    assert overall_status(valid, None) == "valid"
    assert overall_status(valid, "revoked") == "revoked"
    assert overall_status(valid, "superseded") == "superseded"
    assert overall_status(tampered, "revoked") == "tampered"
    assert overall_status(None, "revoked") == "revoked"


def test_pki_fixture_is_the_development_ca(files: dict[str, Any]) -> None:
    assert isinstance(files["pki"], DevPKI)
