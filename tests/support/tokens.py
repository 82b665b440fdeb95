"""Tokens built independently of identity.DevIssuer: issuers, keys, raw tokens."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt
from jose.backends.cryptography_backend import CryptographyECKey

from identity import TokenVerifier, TrustedIssuer

RESIDENT_ISSUER = "https://eid.example.test/resident"


STAFF_ISSUER = "https://staff.example.test/directory"


AUDIENCE = "madoguchi-test"


RESIDENT_KID = "resident-key-1"


STAFF_KID = "staff-key-1"


LEEWAY = 30


MAX_AGE = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def raw_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """An unsigned-by-construction compact token, for structural attacks."""
    return ".".join(
        [
            b64url(json.dumps(header).encode()),
            b64url(json.dumps(payload).encode()),
            b64url(signature),
        ]
    )


@dataclass
class IssuerKit:
    """Two trusted issuers (resident, staff) with their private keys, and helpers."""

    resident_issuer = RESIDENT_ISSUER
    staff_issuer = STAFF_ISSUER
    audience = AUDIENCE
    resident_kid = RESIDENT_KID
    staff_kid = STAFF_KID
    leeway = LEEWAY
    max_age = MAX_AGE
    b64url = staticmethod(b64url)
    public_jwk = staticmethod(public_jwk)
    raw_token = staticmethod(raw_token)

    resident_key: ec.EllipticCurvePrivateKey
    staff_key: ec.EllipticCurvePrivateKey
    resident: TrustedIssuer
    staff: TrustedIssuer

    def verifier(self, clock: Callable[[], float] = time.time) -> TokenVerifier:
        return TokenVerifier([self.resident, self.staff], clock=clock)

    def resident_claims(self, now: float | None = None, **changes: Any) -> dict[str, Any]:
        """Valid resident claims; a change to ``None`` removes the claim."""
        now = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": RESIDENT_ISSUER,
            "aud": AUDIENCE,
            "sub": "pseudonym-0001",
            "iat": now - 10,
            "nbf": now - 10,
            "exp": now + 600,
            "acr": "urn:example:acr:card",
            "name": "山田 花子",
            "name_kana": "ヤマダ ハナコ",
            "address": "東京都千代田区千代田1-1",
            "birthdate": "1985-04-01",
            "gender": "female",
        }
        return _apply(claims, changes)

    def staff_claims(self, now: float | None = None, **changes: Any) -> dict[str, Any]:
        now = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": STAFF_ISSUER,
            "aud": AUDIENCE,
            "sub": "staff-0042",
            "iat": now - 10,
            "exp": now + 600,
            "name": "佐藤 一郎",
            "municipalities": ["131016", "141003"],
            "roles": ["surveyor", "approver"],
        }
        return _apply(claims, changes)

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: ec.EllipticCurvePrivateKey | None = None,
        kid: str | None = RESIDENT_KID,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """Sign with ES256; by default with the resident issuer's key and kid."""
        all_headers = dict(headers or {})
        if kid is not None:
            all_headers["kid"] = kid
        signing_key = CryptographyECKey(key or self.resident_key, "ES256")
        return jwt.encode(claims, signing_key, algorithm="ES256", headers=all_headers)

    def sign_staff(self, claims: dict[str, Any]) -> str:
        return self.sign(claims, key=self.staff_key, kid=STAFF_KID)


def _apply(claims: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims
