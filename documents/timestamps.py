"""RFC 3161 timestamps: a local development TSA and the configured production one.

A seal without a trusted time only says *who*; the timestamp says *when*, and lets a
verifier years later accept a seal whose certificate has expired since. Two
implementations of pyHanko's :class:`~pyhanko.sign.timestamps.TimeStamper` sit side by
side, as pyHanko itself ships ``HTTPTimeStamper`` next to ``DummyTimeStamper``:

- :class:`LocalTimestampAuthority` — development: pyHanko's ``DummyTimeStamper`` signing
  with the development PKI's TSA key (loaded once), used in-process by the document
  worker, and also served over HTTP by the portal as ``POST /tsa``
  (``application/timestamp-query`` → ``application/timestamp-reply``, RFC 3161 §3.4), so
  that an HTTP timestamp client can be pointed at it exactly as at a real TSA.
- :func:`timestamper_for` — picks the configured TSA URL (production: an accredited
  TSA) or the local one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from asn1crypto import cms, core, keys, tsp, x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder
from pyhanko.sign import general
from pyhanko.sign.timestamps import DummyTimeStamper, HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from documents.devpki import DevPKI

__all__ = [
    "TIMESTAMP_QUERY",
    "TIMESTAMP_REPLY",
    "LocalTimestampAuthority",
    "timestamper_for",
]

TIMESTAMP_QUERY = "application/timestamp-query"
TIMESTAMP_REPLY = "application/timestamp-reply"

# Digest lengths the TSA accepts in a message imprint; anything weaker is refused.
_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}


class LocalTimestampAuthority(DummyTimeStamper):
    """A development RFC 3161 timestamp authority (pyHanko's ``DummyTimeStamper``).

    Differences from the pyHanko class: the RSA key is parsed once (not on every token),
    and :meth:`respond` answers raw DER requests for the HTTP endpoint, refusing malformed
    ones and weak digests with an RFC 3161 rejection instead of an exception.

    Not for production: the key lives on the application host and the clock is the
    host's clock.
    """

    def __init__(
        self,
        tsa_cert: x509.Certificate,
        tsa_key_pem: bytes,
        chain: list[x509.Certificate] | None = None,
    ) -> None:
        key = serialization.load_pem_private_key(tsa_key_pem, password=None)
        if not isinstance(key, RSAPrivateKey):
            raise ValueError("the local TSA signs with RSA (pyHanko's DummyTimeStamper)")
        info = keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        super().__init__(tsa_cert=tsa_cert, tsa_key=info, certs_to_embed=chain or [])
        self._pyca_key = key
        # Built once: asn1crypto takes ~15 ms to build this attribute, per token.
        self._signing_cert_attr = general.simple_cms_attribute(
            "signing_certificate", general.as_signing_certificate(tsa_cert)
        ).dump()

    @classmethod
    def from_pki(cls, pki: DevPKI) -> LocalTimestampAuthority:
        """The TSA of the development PKI (its certificate chains to the development root)."""
        return cls(
            load_cert_from_pemder(str(pki.tsa_cert_path)),
            pki.tsa_key_path.read_bytes(),
            list(load_certs_from_pemder([str(pki.root_cert_path)])),
        )

    def _sign_tst_info(
        self, tst_info_data: bytes, md_algorithm: str, dt: datetime
    ) -> tuple[bytes, cms.CMSAttributes]:
        # Same signed attributes as pyHanko's dummy TSA; key and certificate attribute cached.
        signed_attrs = cms.CMSAttributes(
            [
                general.simple_cms_attribute("content_type", "tst_info"),
                general.simple_cms_attribute(
                    "signing_time", cms.Time({"utc_time": core.UTCTime(dt)})
                ),
                cms.CMSAttribute.load(self._signing_cert_attr),
                general.simple_cms_attribute(
                    "message_digest", hashlib.new(md_algorithm, tst_info_data).digest()
                ),
            ]
        )
        signature = self._pyca_key.sign(
            signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm)
        )
        return signature, signed_attrs

    def respond(self, request_der: bytes) -> bytes:
        """Answer one DER-encoded ``TimeStampReq`` with a DER-encoded ``TimeStampResp``.

        A request that does not parse, or whose imprint uses an unsupported digest, gets
        a ``rejection`` response (``badDataFormat`` / ``badAlg``), as RFC 3161 §2.4.2
        prescribes, never an exception.
        """
        try:
            req = tsp.TimeStampReq.load(request_der, strict=True)
            req.native  # noqa: B018 - parse the whole structure now, not lazily later
            imprint = req["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
        except (ValueError, TypeError, KeyError):
            return _rejection("bad_data_format")
        if _DIGEST_SIZES.get(algorithm) != len(digest):
            return _rejection("bad_alg")
        return self.request_tsa_response(req).dump()


def _rejection(reason: str) -> bytes:
    status = tsp.PKIStatusInfo(
        {
            "status": tsp.PKIStatus("rejection"),
            "fail_info": tsp.PKIFailureInfo({reason}),
        }
    )
    # asn1crypto's TimeStampResp makes the (optional) token mandatory: encode without it.
    return _StatusOnlyResp({"status": status}).dump()


class _StatusOnlyResp(core.Sequence):
    """``TimeStampResp`` with only ``status`` (RFC 3161 §2.4.2: no token on rejection)."""

    _fields = [("status", tsp.PKIStatusInfo)]  # noqa: RUF012 - asn1crypto's own convention


def timestamper_for(
    url: str | None, local: LocalTimestampAuthority | None = None, *, timeout: float = 10
) -> TimeStamper:
    """The timestamper documents are sealed with.

    :param url: the configured TSA (production: an accredited one, over HTTPS). Wins
        when set.
    :param local: the development TSA, used when no URL is configured.
    :param timeout: seconds to wait for a remote TSA; a timeout raises pyHanko's
        ``TimestampRequestError`` and the issuing activity is retried.
    :raises ValueError: if neither is given.
    """
    if url:
        return HTTPTimeStamper(url, timeout=timeout)
    if local is not None:
        return local
    raise ValueError("no timestamp authority: configure a TSA URL (or use development mode)")
