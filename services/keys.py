"""Opaque identifiers derived from people and filings with the installation's id secret.

Workflow ids, search attributes and logs must carry no personal data, yet a resident must
find their own cases and a second filing for the same thing must get the same id. An HMAC
of the issuer and subject (or of the dedupe material) under a secret kept in the data
directory gives both: stable, and meaningless without the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from identity.principals import Business, Resident


class ApplicantKeys:
    """Derives applicant keys, application ids and request keys from one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def mac(self, text: str) -> str:
        """A lower-case base32 HMAC-SHA256 of ``text``: safe in ids and search attributes."""
        digest = hmac.new(self._secret, text.encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode().rstrip("=").lower()

    def of_subject(self, issuer: str, subject: str) -> str:
        """The key of whoever ``issuer`` calls ``subject`` (e.g. a campaign's target)."""
        return self.mac(f"applicant|{issuer}|{subject}")[:32]

    def of(self, applicant: Resident | Business) -> str:
        """An opaque, stable key for a resident or business."""
        return self.of_subject(applicant.issuer, applicant.subject)

    def application_id(self, dedupe_material: str) -> str:
        """The workflow id of a filing: one per dedupe key, ever."""
        return "app-" + self.mac(dedupe_material)[:26]

    def request_key(self, applicant_key: str, idempotency_key: str) -> str:
        """What a retried request (the same ``Idempotency-Key``) is recognized by."""
        return self.mac(f"request|{applicant_key}|{idempotency_key}")


#: Crockford's base32: no I, L, O or U, so a reference read aloud cannot be misheard as
#: another (and 0/1 are the only digits a caller might say as letters; see
#: :func:`normalize_reference`).
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})


def spoken_reference(application_id: str) -> str:
    """A short reference a person can read aloud on the phone, e.g. ``7KQ2-M9XD``.

    A pure function of the (opaque) application id: 8 Crockford base32 characters of its
    SHA-256, so the same case has the same reference on every page, in every process, with
    no secret and no storage. 40 bits: two of a municipality's million cases share one with
    a chance of about 1 in 2 million per pair, so it names a case to a person beside the id,
    never instead of it (a lookup by reference lists every match).
    """
    digest = hashlib.sha256(application_id.encode()).digest()
    number = int.from_bytes(digest[:5], "big")
    chars = "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(35, -1, -5))
    return f"{chars[:4]}-{chars[4:]}"


def normalize_reference(text: str) -> str | None:
    """What a caseworker typed as a reference, written as :func:`spoken_reference` writes it
    (case, spaces and hyphens ignored; O read as 0, I and L as 1), or None if it cannot be one.
    """
    compact = "".join(c for c in text.upper() if c not in " -\u3000ー－").translate(_MISREAD)
    if len(compact) != 8 or any(c not in _CROCKFORD for c in compact):
        return None
    return f"{compact[:4]}-{compact[4:]}"
