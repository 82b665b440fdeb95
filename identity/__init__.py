"""Tokens in, principals out.

:class:`TokenVerifier` turns a signed token from a :class:`TrustedIssuer` into a
:class:`Resident` or :class:`Caseworker`, or refuses it with an :class:`IdentityError`
(see :mod:`identity.errors` for the tree). :class:`DevIssuer` is the local development
issuer. python-jose is used only inside this package.
"""

from identity.devissuer import DEV_AUDIENCE, DEV_RESIDENT_ISSUER, DEV_STAFF_ISSUER, DevIssuer
from identity.errors import (
    AlgorithmNotAllowed,
    AudienceMismatch,
    ClaimInvalid,
    ClaimMissing,
    IdentityError,
    IssuerUnknown,
    KeyUnknown,
    SignatureInvalid,
    TokenExpired,
    TokenInvalid,
    TokenMalformed,
    TokenNotYetValid,
    TokenTooLarge,
)
from identity.issuers import TrustedIssuer
from identity.principals import Caseworker, Principal, Resident
from identity.verify import TokenVerifier

__all__ = [
    "DEV_AUDIENCE",
    "DEV_RESIDENT_ISSUER",
    "DEV_STAFF_ISSUER",
    "AlgorithmNotAllowed",
    "AudienceMismatch",
    "Caseworker",
    "ClaimInvalid",
    "ClaimMissing",
    "DevIssuer",
    "IdentityError",
    "IssuerUnknown",
    "KeyUnknown",
    "Principal",
    "Resident",
    "SignatureInvalid",
    "TokenExpired",
    "TokenInvalid",
    "TokenMalformed",
    "TokenNotYetValid",
    "TokenTooLarge",
    "TokenVerifier",
    "TrustedIssuer",
]
