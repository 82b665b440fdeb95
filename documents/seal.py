"""Sealing issued documents: the municipality's e-seal (PAdES) with an RFC 3161 timestamp.

A :class:`Sealer` holds one municipality's e-seal key and certificate (loaded once: parsing
a key on every signature costs more than the signature) and a timestamper. It turns the
unsealed PDF/A from :mod:`documents.render` into a sealed one:

- **PAdES B-T**: a CAdES-detached signature (``/ETSI.CAdES.detached``) by the e-seal key,
  plus an RFC 3161 signature timestamp from the configured TSA.
- **PAdES B-LTA** when the sealer knows the trust roots (validation data is available):
  additionally the certificate chain (seal, TSA, root) in the document security store and
  a document timestamp over all of it, so the file can be validated offline, years later.

The seal is invisible (the visible 印 is part of the rendered page); the signature field is
named after the document (``madoguchi-seal-<document id>``) so a verifier can tell which
register entry an uploaded file claims to be.

Sealing is idempotent in effect — sealing the same bytes again gives another valid seal of
the same document — but not byte-for-byte deterministic (signing time, nonces): the issuing
activity stores the sealed bytes before recording their hash.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.sign import attributes, fields, general, signers
from pyhanko.sign.attributes import SignedAttributeProviderSpec
from pyhanko.sign.signers.constants import ESIC_EXTENSION_1
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

__all__ = [
    "SEAL_FIELD_PREFIX",
    "SealError",
    "SealLevel",
    "Sealer",
    "load_pem_certificates",
]

#: Signature field name = prefix + document id.
SEAL_FIELD_PREFIX = "madoguchi-seal-"

#: Bytes reserved for the signature container (hex, so twice its DER size). An ECDSA seal
#: with a two-certificate chain and an RSA-signed timestamp token is ~4 KiB of DER; 16 KiB
#: leaves room for a longer production chain. Fixing it skips pyHanko's dry-run signature
#: (a second signature and timestamp per document, ~2x the cost).
DEFAULT_BYTES_RESERVED = 16384


class _DropOfflineDSSWarning(logging.Filter):
    """pyHanko warns on every B-LTA seal that revocation info is not fetched: by design here
    (the development CA publishes none; production embeds what its CA provides)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


_pdf_signer_log = logging.getLogger("pyhanko.sign.signers.pdf_signer")


class SealError(RuntimeError):
    """The e-seal cannot be loaded or applied (bad key file, wrong passphrase, unusable
    certificate, TSA unreachable...). The message names the cause, never key material."""


class SealLevel(StrEnum):
    """PAdES baseline level of the seals a :class:`Sealer` makes."""

    B_T = "B-T"
    B_LTA = "B-LTA"


class _CachedSigningCertificateV2(attributes.SigningCertificateV2Provider):
    """The ``signing-certificate-v2`` attribute value, built once and reused as DER.

    Building it with asn1crypto costs ~20 ms per signature (more than the rest of the
    CMS signature together); the value depends only on the certificate.
    """

    def __init__(self, signing_cert: asn1_x509.Certificate) -> None:
        super().__init__(signing_cert)
        self._der = general.as_signing_certificate_v2(signing_cert).dump()

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2.load(self._der)


class _CachingSpec(SignedAttributeProviderSpec):
    """pyHanko's signed attribute providers, with the signing certificate one cached."""

    def __init__(self, inner: SignedAttributeProviderSpec, cached: _CachedSigningCertificateV2):
        self._inner = inner
        self._cached = cached

    def signed_attr_providers(
        self, data_digest: bytes, digest_algorithm: str
    ) -> Iterable[attributes.CMSAttributeProvider]:
        for provider in self._inner.signed_attr_providers(data_digest, digest_algorithm):
            if type(provider) is attributes.SigningCertificateV2Provider:
                yield self._cached
            else:
                yield provider


class _LoadedKeySigner(signers.SimpleSigner):
    """pyHanko's ``SimpleSigner`` with the private key parsed once, not per signature, and
    the signing certificate attribute built once (see :class:`_CachedSigningCertificateV2`).
    """

    def __init__(self, pyca_key: EllipticCurvePrivateKey | RSAPrivateKey, **kwargs: object):
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._pyca_key = pyca_key
        self._cached_cert_attr = _CachedSigningCertificateV2(self.signing_cert)

    def _signed_attr_provider_spec(self, *args: object, **kwargs: object) -> _CachingSpec:
        # Internal pyHanko hook (0.38): wrap whatever spec pyHanko picks (PAdES here).
        inner = super()._signed_attr_provider_spec(*args, **kwargs)  # type: ignore[arg-type]
        return _CachingSpec(inner, self._cached_cert_attr)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "ecdsa" and isinstance(self._pyca_key, EllipticCurvePrivateKey):
            return self._pyca_key.sign(data, ECDSA(hash_algo))
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._pyca_key, RSAPrivateKey):
            return self._pyca_key.sign(data, PKCS1v15(), hash_algo)
        return super().sign_raw(data, digest_algorithm)  # e.g. RSASSA-PSS


class _PdfA3Signer(signers.PdfSigner):
    """A PAdES signer that keeps the document at PDF 1.7, as PDF/A-3 requires.

    pyHanko registers the ISO 32002 extension for an ECDSA P-256 key, which raises the
    catalog's ``/Version`` to 2.0: the sealed file would then claim PDF/A-3 (based on
    ISO 32000-1) while being a PDF 2.0. On PDF 1.7 the ETSI ``ESIC`` extension declares
    PAdES, ECDSA included (ETSI EN 319 142-1); that is the only extension we register.
    """

    def register_extensions(self, pdf_out: object, *, md_algorithm: str) -> None:
        pdf_out.ensure_output_version(version=(1, 7))  # type: ignore[attr-defined]
        pdf_out.register_extension(ESIC_EXTENSION_1)  # type: ignore[attr-defined]


def _align_producer(writer: IncrementalPdfFileWriter) -> None:
    """Make the document information's ``/Producer`` what pyHanko writes into the XMP.

    pyHanko appends its name to the Info dictionary's producer ("WeasyPrint 70.0;
    pyHanko 0.38.0") but replaces the XMP ``pdf:Producer`` with its name alone; PDF/A
    (ISO 19005-3, 6.6.2.3.1) requires the two to be equivalent. With the Info entry set to
    pyHanko's name first, both say the same after every incremental update.
    """
    ref = writer.trailer.raw_get("/Info") if "/Info" in writer.trailer else None
    if ref is None:
        return
    info = ref.get_object()
    info["/Producer"] = generic.TextStringObject(VENDOR)
    writer.mark_update(ref)


def _asn1_cert(cert: object) -> asn1_x509.Certificate:
    der = cert.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined]
    return asn1_x509.Certificate.load(der)


def _asn1_key(key: EllipticCurvePrivateKey | RSAPrivateKey) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def load_pem_certificates(data: bytes) -> list[asn1_x509.Certificate]:
    """Every certificate in PEM (or DER) ``data``.

    :raises SealError: if there is none or the data does not parse.
    """
    try:
        certs = list(load_certs_from_pemder_data(data))
    except (ValueError, TypeError) as exc:
        raise SealError(f"not a PEM or DER certificate: {exc}") from exc
    if not certs:
        raise SealError("no certificate found")
    return certs


def _usable_key(key: object) -> EllipticCurvePrivateKey | RSAPrivateKey:
    if not isinstance(key, EllipticCurvePrivateKey | RSAPrivateKey):
        raise SealError("the e-seal key must be ECDSA or RSA")
    return key


class Sealer:
    """Seals PDFs with one municipality's e-seal. Build once per worker process; thread-safe
    for concurrent :meth:`seal` calls (no mutable state besides pyHanko's caches).

    :param key: the e-seal private key (ECDSA P-256 or RSA).
    :param certificate: its certificate; key usage must include ``nonRepudiation`` (what
        pyHanko checks) and should include ``digitalSignature``.
    :param chain: intermediate (and, optionally, root) certificates, embedded in the seal.
    :param timestamper: the TSA (see :func:`documents.timestamps.timestamper_for`).
    :param trust_roots: the roots the seal and TSA chains end in. When given, seals are
        B-LTA (the chain is put in the document security store, then a document
        timestamp); otherwise B-T.
    :param bytes_reserved: signature container size; ``None`` lets pyHanko estimate it
        with a dry run on every seal (slower).
    :param reason: the ``/Reason`` shown by PDF readers.
    :raises SealError: if the key is not ECDSA or RSA, or does not match the certificate.
    """

    def __init__(
        self,
        key: EllipticCurvePrivateKey | RSAPrivateKey,
        certificate: asn1_x509.Certificate,
        *,
        chain: Sequence[asn1_x509.Certificate] = (),
        timestamper: TimeStamper,
        trust_roots: Sequence[asn1_x509.Certificate] = (),
        bytes_reserved: int | None = DEFAULT_BYTES_RESERVED,
        reason: str = "電子公印 / e-seal",
    ) -> None:
        key = _usable_key(key)
        public_der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if public_der != certificate.public_key.dump():
            raise SealError("the e-seal key does not match its certificate")
        self.certificate = certificate
        self.trust_roots = tuple(trust_roots)
        self.level = SealLevel.B_LTA if self.trust_roots else SealLevel.B_T
        if not any(isinstance(f, _DropOfflineDSSWarning) for f in _pdf_signer_log.filters):
            _pdf_signer_log.addFilter(_DropOfflineDSSWarning())
        self._bytes_reserved = bytes_reserved
        self._reason = reason
        self._timestamper = timestamper
        self._signer = _LoadedKeySigner(
            key,
            signing_cert=certificate,
            signing_key=_asn1_key(key),
            cert_registry=SimpleCertificateStore.from_certs(list(chain)),
        )

    @classmethod
    def from_pem(
        cls,
        key_file: Path,
        cert_file: Path,
        *,
        chain_files: Sequence[Path] = (),
        passphrase: bytes | None = None,
        timestamper: TimeStamper,
        trust_roots: Sequence[asn1_x509.Certificate] = (),
        **kwargs: object,
    ) -> Sealer:
        """A sealer from PEM (or DER) files.

        :raises SealError: if a file is missing or does not parse, or the passphrase is wrong.
        """
        try:
            key_data = Path(key_file).read_bytes()
            cert_data = Path(cert_file).read_bytes()
            chain_data = [Path(p).read_bytes() for p in chain_files]
        except OSError as exc:
            raise SealError(f"cannot read e-seal file: {exc.filename}: {exc.strerror}") from exc
        try:
            if key_data.lstrip().startswith(b"-----"):
                key = serialization.load_pem_private_key(key_data, password=passphrase)
            else:
                key = serialization.load_der_private_key(key_data, password=passphrase)
        except (ValueError, TypeError) as exc:
            raise SealError(f"cannot load the e-seal key {key_file} (wrong passphrase?)") from exc
        certificate = load_pem_certificates(cert_data)[0]
        chain = [c for data in chain_data for c in load_pem_certificates(data)]
        return cls(
            _usable_key(key),
            certificate,
            chain=chain,
            timestamper=timestamper,
            trust_roots=trust_roots,
            **kwargs,  # type: ignore[arg-type]
        )

    @classmethod
    def from_pkcs12(
        cls,
        pkcs12_file: Path,
        *,
        passphrase: bytes | None,
        timestamper: TimeStamper,
        trust_roots: Sequence[asn1_x509.Certificate] = (),
        **kwargs: object,
    ) -> Sealer:
        """A sealer from a PKCS#12 (.p12/.pfx) file: key, certificate and chain.

        :raises SealError: if the file is missing, does not parse, or has no key or
            certificate.
        """
        try:
            data = Path(pkcs12_file).read_bytes()
        except OSError as exc:
            raise SealError(f"cannot read e-seal file: {exc.filename}: {exc.strerror}") from exc
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
        except (ValueError, TypeError) as exc:
            raise SealError(
                f"cannot load {pkcs12_file} (not PKCS#12, or wrong passphrase)"
            ) from exc
        if key is None or cert is None:
            raise SealError(f"{pkcs12_file} holds no private key and certificate")
        return cls(
            _usable_key(key),
            _asn1_cert(cert),
            chain=[_asn1_cert(c) for c in extra],
            timestamper=timestamper,
            trust_roots=trust_roots,
            **kwargs,  # type: ignore[arg-type]
        )

    def seal(self, pdf: bytes, *, document_id: str) -> bytes:
        """Seal ``pdf`` (an unsealed PDF/A from :mod:`documents.render`).

        :param document_id: the document's id; names the signature field.
        :returns: the sealed PDF (the input plus incremental updates).
        :raises SealError: if the PDF cannot be read, or the seal or timestamp fails (a
            TSA that is down, a certificate that does not validate against the trust
            roots). Retrying may help when the TSA was the cause.
        """
        b_lta = self.level is SealLevel.B_LTA
        validation_context = (
            ValidationContext(
                trust_roots=list(self.trust_roots),
                allow_fetching=False,
                revocation_mode="soft-fail",
            )
            if b_lta
            else None
        )
        meta = signers.PdfSignatureMetadata(
            field_name=SEAL_FIELD_PREFIX + document_id,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=self._reason,
            embed_validation_info=b_lta,
            use_pades_lta=b_lta,
            validation_context=validation_context,
            signer_key_usage={"non_repudiation"},
        )
        pdf_signer = _PdfA3Signer(meta, signer=self._signer, timestamper=self._timestamper)
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
            _align_producer(writer)
            out = pdf_signer.sign_pdf(writer, bytes_reserved=self._bytes_reserved)
        except Exception as exc:  # pyHanko raises many types; name the cause, keep the chain
            raise SealError(f"sealing document {document_id} failed: {exc}") from exc
        return out.getvalue()
