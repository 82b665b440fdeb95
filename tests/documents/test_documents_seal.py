"""Sealing the 罹災証明書: development PKI, PAdES B-LTA, checked with real validators
(poppler's pdfsig with an NSS database, pyHanko, qpdf, pdftotext, zbarimg)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from documents.devpki import DEV_CA_NAME, DevPKI
from documents.issuer import DocumentIssuer, SealerCache, UnknownSealer, development_issuer
from documents.render import DocumentRenderer
from documents.seal import Sealer, SealError, load_pem_certificates
from documents.timestamps import LocalTimestampAuthority
from documents.verify import verify_pdf
from tests.support.pdfa import pdfa_problems

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "forms/catalog/disaster-certificate/templates"
ARTIFACTS = REPO / "test-artifacts/documents"
PUBLIC_URL = "https://madoguchi.example.lg.jp"
DOCUMENT_ID = "DOC-5EA1ED0C0FFEE1234567"


SAMPLE = (Path(__file__).resolve().parents[2]
          / "forms/catalog/disaster-certificate/examples/certificate-context.json")


def certificate_context() -> dict[str, Any]:
    """The sample certificate context the docs and tests share (examples/)."""
    context = json.loads(SAMPLE.read_text(encoding="utf-8"))
    context["document"]["id"] = DOCUMENT_ID
    return context


def run(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=check, timeout=60
    )


@pytest.fixture(scope="module")
def renderer() -> DocumentRenderer:
    return DocumentRenderer()


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data") / "keys" / "pki"


@pytest.fixture(scope="module")
def issuer_and_pki(renderer: DocumentRenderer, pki_dir: Path) -> tuple[DocumentIssuer, DevPKI]:
    return development_issuer(renderer, pki_dir, {"131016": "千代田区"}, PUBLIC_URL)


@pytest.fixture(scope="module")
def sealed(
    issuer_and_pki: tuple[DocumentIssuer, DevPKI], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    issuer, _ = issuer_and_pki
    pdf = issuer.issue(
        TEMPLATES,
        "certificate.html",
        certificate_context(),
        document_id=DOCUMENT_ID,
        title="罹災証明書",
        municipality_code="131016",
    )
    path = tmp_path_factory.mktemp("sealed") / "certificate.pdf"
    path.write_bytes(pdf)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "certificate-sealed.pdf").write_bytes(pdf)
    return path


def test_development_pki_files_are_private_labelled_and_reused(
    issuer_and_pki: tuple[DocumentIssuer, DevPKI], sealed: Path, pki_dir: Path
) -> None:
    _, pki = issuer_and_pki
    names = sorted(p.name for p in pki_dir.iterdir())
    assert names == [
        "root-ca.cert.pem",
        "root-ca.key.pem",
        "seal-131016.cert.pem",
        "seal-131016.key.pem",
        "tsa.cert.pem",
        "tsa.key.pem",
    ]
    for path in pki_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    root = x509.load_pem_x509_certificate(pki.root_cert_path.read_bytes())
    assert root.subject.rfc4514_string().startswith(f"CN={DEV_CA_NAME}")
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    seal = x509.load_pem_x509_certificate((pki_dir / "seal-131016.cert.pem").read_bytes())
    usage = seal.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert seal.issuer == root.subject

    tsa = x509.load_pem_x509_certificate(pki.tsa_cert_path.read_bytes())
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]

    before = {p.name: p.read_bytes() for p in pki_dir.iterdir()}
    again = DevPKI.load_or_create(pki_dir)
    again.seal_files("131016", "千代田区")
    assert {p.name: p.read_bytes() for p in pki_dir.iterdir()} == before


def test_pyhanko_validation_intact_valid_trusted_timestamped(
    sealed: Path, issuer_and_pki: tuple[DocumentIssuer, DevPKI]
) -> None:
    _, pki = issuer_and_pki
    verdict = verify_pdf(
        sealed.read_bytes(), load_pem_certificates(pki.root_cert_path.read_bytes())
    )
    assert verdict.outcome == "valid", verdict
    assert verdict.intact and verdict.valid and verdict.trusted and verdict.timestamp_valid
    assert verdict.level == "B-LTA" and verdict.document_timestamps_valid
    assert verdict.document_id == DOCUMENT_ID
    assert verdict.signer is not None and verdict.signer.municipality_code == "131016"
    assert verdict.signer.organization == "千代田区"
    assert verdict.signed_at is not None


def test_pdfsig_with_the_development_ca_in_an_nss_db(
    sealed: Path, issuer_and_pki: tuple[DocumentIssuer, DevPKI], tmp_path: Path
) -> None:
    _, pki = issuer_and_pki
    nss = tmp_path / "nss"
    nss.mkdir()
    run("certutil", "-N", "-d", f"sql:{nss}", "--empty-password")
    run(
        "certutil",
        "-A",
        "-d",
        f"sql:{nss}",
        "-n",
        "madoguchi-dev-ca",
        "-t",
        "C,C,C",
        "-i",
        pki.root_cert_path,
    )
    out = run("pdfsig", "-nssdir", f"sql:{nss}", sealed).stdout
    seal_section = out.split("Signature #2")[0]
    assert "Signature Validation: Signature is Valid." in seal_section, out
    assert "Certificate Validation: Certificate is Trusted." in seal_section, out
    assert "ETSI.CAdES.detached" in seal_section
    # Without the CA in the database the same signature is intact but not trusted.
    empty = tmp_path / "empty"
    empty.mkdir()
    run("certutil", "-N", "-d", f"sql:{empty}", "--empty-password")
    untrusted = run("pdfsig", "-nssdir", f"sql:{empty}", sealed, check=False).stdout
    assert "Certificate is Trusted." not in untrusted.split("Signature #2")[0]


def test_sealed_certificate_is_tagged_pdf_a_3u_at_pdf_1_7(sealed: Path) -> None:
    # pyHanko raised an ECDSA-sealed file to /Version 2.0 (ISO 32002) and wrote a
    # producer into the XMP that the Info dictionary contradicted; WeasyPrint's output
    # was untagged. PDF/A-3 is PDF 1.7.
    assert pdfa_problems(sealed) == []
    assert "Tagged:          yes" in run("pdfinfo", sealed).stdout


def test_qpdf_check_is_clean(sealed: Path) -> None:
    result = run("qpdf", "--check", sealed, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_japanese_text_and_the_verify_line(sealed: Path) -> None:
    text = run("pdftotext", sealed, "-").stdout
    for expected in [
        "罹災証明書",
        "大規模半壊",
        "山田 太郎",
        "千代田区長",
        f"電子署名により改ざんの有無を確認できます（{PUBLIC_URL}/verify/{DOCUMENT_ID}）",
    ]:
        assert expected in text.replace("\n", ""), expected


def test_qr_code_decodes_to_the_verify_url(sealed: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = ARTIFACTS / "certificate-sealed"
    run("pdftoppm", "-r", "200", "-png", "-singlefile", sealed, prefix)
    png = prefix.with_suffix(".png")
    assert png.stat().st_size > 10_000
    decoded = run("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", png).stdout
    assert decoded.strip() == f"{PUBLIC_URL}/verify/{DOCUMENT_ID}"


def test_application_data_is_attached_as_json(sealed: Path, tmp_path: Path) -> None:
    listing = run("pdfdetach", "-list", sealed).stdout
    assert "application.json" in listing
    run("pdfdetach", "-save", "1", "-o", tmp_path / "a.json", sealed)
    data = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert data["document_id"] == DOCUMENT_ID and data["municipality"] == "131016"
    assert data["data"]["applicant"]["name"]["family"] == "山田"
    assert data["computed"]["damage_grade"]["code"] == "large_scale_half"


def test_pkcs12_seal_is_b_t_without_trust_roots(
    issuer_and_pki: tuple[DocumentIssuer, DevPKI],
    pki_dir: Path,
    renderer: DocumentRenderer,
    tmp_path: Path,
) -> None:
    _, pki = issuer_and_pki
    key = serialization.load_pem_private_key((pki_dir / "seal-131016.key.pem").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((pki_dir / "seal-131016.cert.pem").read_bytes())
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal",
            key,
            cert,
            None,  # type: ignore[arg-type]
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    tsa = LocalTimestampAuthority.from_pki(pki)
    sealer = Sealer.from_pkcs12(p12, passphrase=b"secret", timestamper=tsa)
    assert sealer.level == "B-T"
    unsealed = renderer.render_pdf(
        TEMPLATES,
        "certificate.html",
        certificate_context(),
        identifier="DOC-P12",
        title="罹災証明書",
    )
    verdict = verify_pdf(
        sealer.seal(unsealed, document_id="DOC-P12"),
        load_pem_certificates(pki.root_cert_path.read_bytes()),
    )
    assert verdict.outcome == "valid" and verdict.level == "B-T", verdict
    with pytest.raises(SealError, match="wrong passphrase"):
        Sealer.from_pkcs12(p12, passphrase=b"nope", timestamper=tsa)


def test_key_that_does_not_match_the_certificate_is_refused(
    issuer_and_pki: tuple[DocumentIssuer, DevPKI], pki_dir: Path
) -> None:
    _, pki = issuer_and_pki
    with pytest.raises(SealError, match="does not match"):
        Sealer.from_pem(
            pki.root_key_path,
            pki_dir / "seal-131016.cert.pem",
            timestamper=LocalTimestampAuthority.from_pki(pki),
        )


def test_unknown_municipality_has_no_sealer(
    issuer_and_pki: tuple[DocumentIssuer, DevPKI], renderer: DocumentRenderer
) -> None:
    issuer, _ = issuer_and_pki
    with pytest.raises(UnknownSealer):
        issuer.issue(
            TEMPLATES,
            "certificate.html",
            certificate_context(),
            document_id="DOC-X",
            title="罹災証明書",
            municipality_code="011002",
        )
    with pytest.raises(UnknownSealer):
        DocumentIssuer(renderer, {}, PUBLIC_URL).sealer("131016")


def test_sealer_cache_builds_once() -> None:
    built: list[str] = []

    def build(code: str) -> Any:
        built.append(code)
        return object()

    cache = SealerCache(build)
    assert cache("131016") is cache("131016")
    assert built == ["131016"]


def test_no_key_material_in_the_error_for_a_bad_key_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    cert = tmp_path / "none.pem"
    cert.write_text("")
    with pytest.raises(SealError) as info:
        Sealer.from_pem(bad, cert, timestamper=None)  # type: ignore[arg-type]
    assert "not a key" not in str(info.value)
    assert os.fspath(bad) in str(info.value)
