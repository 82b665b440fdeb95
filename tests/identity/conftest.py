"""Fixtures for identity tests: a test issuer with its own keys, and token builders.

Tokens are built here independently of :class:`identity.DevIssuer`, so that each refusal
test changes exactly one thing in a token that otherwise verifies (see
``test_baseline_token_verifies``).
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from identity import TrustedIssuer
from tests.support.tokens import (
    AUDIENCE,
    LEEWAY,
    MAX_AGE,
    RESIDENT_ISSUER,
    RESIDENT_KID,
    STAFF_ISSUER,
    STAFF_KID,
    IssuerKit,
    public_jwk,
)


@pytest.fixture
def issuers() -> IssuerKit:
    resident_key = ec.generate_private_key(ec.SECP256R1())
    staff_key = ec.generate_private_key(ec.SECP256R1())
    common: dict[str, Any] = {
        "audience": AUDIENCE,
        "algorithms": ("ES256",),
        "leeway_seconds": LEEWAY,
        "max_age_seconds": MAX_AGE,
    }
    return IssuerKit(
        resident_key=resident_key,
        staff_key=staff_key,
        resident=TrustedIssuer(
            issuer=RESIDENT_ISSUER,
            kind="resident",
            keys={RESIDENT_KID: public_jwk(resident_key)},
            **common,
        ),
        staff=TrustedIssuer(
            issuer=STAFF_ISSUER,
            kind="caseworker",
            keys={STAFF_KID: public_jwk(staff_key)},
            **common,
        ),
    )
