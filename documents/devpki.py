"""The development PKI: a labelled root CA, per-municipality e-seal certificates and a TSA.

In development (``MADOGUCHI_MODE=development``) nothing has to be configured to issue
sealed documents: on first start this module creates, under ``<data_dir>/keys/pki/``::

    root-ca.key.pem            ECDSA P-256, signs the certificates below
    root-ca.cert.pem           "madoguchi DEVELOPMENT CA — not for production"
    tsa.key.pem                RSA-2048 (pyHanko's in-process TSA signs with RSA)
    tsa.cert.pem               extended key usage timeStamping (critical)
    seal-<code>.key.pem        ECDSA P-256, one per municipality (地方公共団体コード)
    seal-<code>.cert.pem       key usage digitalSignature + nonRepudiation (critical)

Every file is created once, atomically, with mode 0600 (:func:`records.secretfile.
read_or_create`): two processes starting together agree on one key, and later starts
reuse it, so documents sealed yesterday still verify against the same root today.

Nothing here is fit for production: the root key sits next to the seal keys on the same
disk. Production configures the municipality's e-seal (PEM or PKCS#12, issued by a real
CA, e.g. LGPKI) and an accredited TSA URL instead; see ``docs/documents.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from records.secretfile import read_or_create

__all__ = [
    "DEV_CA_NAME",
    "DevPKI",
    "SealFiles",
    "municipality_identifier",
]

#: Common name of the development root: whoever sees it in a validator knows what it is.
DEV_CA_NAME = "madoguchi DEVELOPMENT CA — not for production"
_DEV_ORG = "madoguchi development (not for production)"

_ROOT_YEARS = 30
_LEAF_YEARS = 10
_CODE = re.compile(r"^[0-9]{6}$")


def municipality_identifier(code: str) -> str:
    """The ``organizationIdentifier`` carried by a municipality's seal certificate.

    ``LGJP-`` + 地方公共団体コード: the verifier reads the issuing municipality from it.
    """
    return f"LGJP-{code}"


@dataclass(frozen=True)
class SealFiles:
    """Where one municipality's development e-seal key and certificate are."""

    key: Path
    cert: Path


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _load_key(text: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("development PKI keys are ECDSA or RSA")
    return key


def _now() -> dt.datetime:
    # Backdated a little so a verifier whose clock lags a few minutes still accepts it.
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=10)


class DevPKI:
    """The development root CA, TSA and seal certificates under one directory.

    Build with :meth:`load_or_create`; :meth:`seal_files` creates a municipality's seal on
    first use. Thread- and process-safe in the sense of :func:`read_or_create`.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._root_key = _load_key(
            read_or_create(
                self.root_key_path, lambda: _pem_key(ec.generate_private_key(ec.SECP256R1()))
            )
        )
        self._root_cert_pem = read_or_create(self.root_cert_path, self._make_root_cert)
        self._root_cert = x509.load_pem_x509_certificate(self._root_cert_pem.encode("ascii"))
        read_or_create(
            self.tsa_key_path,
            lambda: _pem_key(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        )
        read_or_create(self.tsa_cert_path, self._make_tsa_cert)

    @classmethod
    def load_or_create(cls, directory: Path) -> DevPKI:
        """The development PKI in ``directory`` (``<data_dir>/keys/pki``), created if absent."""
        return cls(directory)

    # -- paths -------------------------------------------------------------------------

    @property
    def root_key_path(self) -> Path:
        return self.directory / "root-ca.key.pem"

    @property
    def root_cert_path(self) -> Path:
        """The trust anchor to give verifiers (``madoguchi verify --trust``, NSS, ...)."""
        return self.directory / "root-ca.cert.pem"

    @property
    def tsa_key_path(self) -> Path:
        return self.directory / "tsa.key.pem"

    @property
    def tsa_cert_path(self) -> Path:
        return self.directory / "tsa.cert.pem"

    def root_cert_pem(self) -> str:
        return self._root_cert_pem

    # -- municipalities ----------------------------------------------------------------

    def seal_files(self, municipality_code: str, municipality_name: str) -> SealFiles:
        """The e-seal key and certificate of one municipality, created on first use.

        :param municipality_code: the 6-digit 地方公共団体コード.
        :param municipality_name: its name (e.g. ``千代田区``), the certificate's
            organization. Used only when the certificate is created.
        :raises ValueError: if the code is not six digits.
        """
        if not _CODE.match(municipality_code):
            raise ValueError(f"not a 地方公共団体コード: {municipality_code!r}")
        files = SealFiles(
            key=self.directory / f"seal-{municipality_code}.key.pem",
            cert=self.directory / f"seal-{municipality_code}.cert.pem",
        )
        key = _load_key(
            read_or_create(files.key, lambda: _pem_key(ec.generate_private_key(ec.SECP256R1())))
        )
        read_or_create(
            files.cert,
            lambda: self._make_seal_cert(key, municipality_code, municipality_name),
        )
        return files

    # -- certificate factories ---------------------------------------------------------

    def _builder(
        self, subject: x509.Name, public_key: object, years: int, issuer: x509.Name | None = None
    ) -> x509.CertificateBuilder:
        start = _now()
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer if issuer is not None else self._root_cert.subject)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=365 * years))
        )

    def _make_root_cert(self) -> str:
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, _DEV_ORG),
                x509.NameAttribute(NameOID.COMMON_NAME, DEV_CA_NAME),
            ]
        )
        public = self._root_key.public_key()
        cert = (
            self._builder(subject, public, _ROOT_YEARS, issuer=subject)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._root_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def _leaf(self, builder: x509.CertificateBuilder, public: object) -> str:
        cert = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)  # type: ignore[arg-type]
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._root_key.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
            .sign(self._root_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def _make_tsa_cert(self) -> str:
        key = _load_key(self.tsa_key_path.read_text(encoding="utf-8"))
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, _DEV_ORG),
                x509.NameAttribute(
                    NameOID.COMMON_NAME, "madoguchi DEVELOPMENT timestamp authority"
                ),
            ]
        )
        public = key.public_key()
        builder = (
            self._builder(subject, public, _LEAF_YEARS)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            # RFC 3161 §2.3: the TSA certificate has exactly this EKU, marked critical.
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
        )
        return self._leaf(builder, public)

    def _make_seal_cert(
        self, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, code: str, name: str
    ) -> str:
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, municipality_identifier(code)),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{name} 電子公印 (DEVELOPMENT)"),
            ]
        )
        public = key.public_key()
        # pyHanko requires nonRepudiation by default; digitalSignature is what NSS (pdfsig)
        # and most other validators look for. A seal certificate carries both.
        builder = self._builder(subject, public, _LEAF_YEARS).add_extension(
            _key_usage(digital_signature=True, non_repudiation=True), critical=True
        )
        return self._leaf(builder, public)


def _key_usage(
    *, digital_signature: bool = False, non_repudiation: bool = False, cert_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
