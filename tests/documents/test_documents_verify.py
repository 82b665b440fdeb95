"""verify_pdf against real sealed files: valid, and each way a file can fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from documents.devpki import DevPKI
from documents.issuer import development_issuer
from documents.render import DocumentRenderer
from documents.seal import load_pem_certificates
from documents.verify import Verdict, overall_status, verify_pdf
from tests.support.pdfedits import (
    add_document_timestamp,
    append_text_update,
    flip_byte,
    update_info,
    update_xmp_title,
)

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
