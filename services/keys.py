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

    def bundle_id(self, dedupe_material: str) -> str:
        """The workflow id of a life event's bundle: one per household and event, ever."""
        return "lev-" + self.mac(dedupe_material)[:26]

    def household_key(self, household_id: str) -> str:
        """Who belongs to a bundle's household (the registry's household id, keyed): those
        whose sign-in finds the same household may open the bundle's status."""
        return self.mac(f"household|{household_id}")[:32]

    def request_key(self, applicant_key: str, idempotency_key: str) -> str:
        """What a retried request (the same ``Idempotency-Key``) is recognized by."""
        return self.mac(f"request|{applicant_key}|{idempotency_key}")


