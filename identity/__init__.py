"""Tokens in, principals out.

:class:`TokenVerifier` turns a signed token from a :class:`TrustedIssuer` into a
:class:`Resident`, :class:`Business` or :class:`Caseworker`, or refuses it with an
:class:`IdentityError` (see :mod:`identity.errors` for the tree). Trusted issuers come
from a configuration file (:func:`load_trusted_issuers`); their keys from inline JWKs, a
JWKS file or a JWKS URL (:mod:`identity.jwks`). :class:`DevIssuer` is the local
development issuer, :mod:`identity.demo` its demo people. python-jose is used only inside
this package.
"""

from identity.assurance import check_assurance
from identity.config import IssuerConfigError, load_trusted_issuers
from identity.devissuer import (
    DEV_AUDIENCE,
    DEV_BUSINESS_ISSUER,
    DEV_RESIDENT_ISSUER,
    DEV_STAFF_ISSUER,
    DevIssuer,
)
from identity.errors import (
    AlgorithmNotAllowed,
    AssuranceTooLow,
    AudienceMismatch,
    ClaimForbidden,
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
    TokenReplayed,
    TokenTooLarge,
)
from identity.issuers import AssuranceLevel, TrustedIssuer
from identity.principals import Business, Caseworker, Principal, Resident
from identity.proxy import ProxyFiling, ProxyFilingInvalid, parse_proxy_filing
from identity.replay import MemoryReplayStore, ReplayStore
from identity.verify import AnyPrincipal, TokenVerifier

__all__ = [
    "DEV_AUDIENCE",
    "DEV_BUSINESS_ISSUER",
    "DEV_RESIDENT_ISSUER",
    "DEV_STAFF_ISSUER",
    "AlgorithmNotAllowed",
    "AnyPrincipal",
    "AssuranceLevel",
    "AssuranceTooLow",
    "AudienceMismatch",
    "Business",
    "Caseworker",
    "ClaimForbidden",
    "ClaimInvalid",
    "ClaimMissing",
    "DevIssuer",
    "IdentityError",
    "IssuerConfigError",
    "IssuerUnknown",
    "KeyUnknown",
    "MemoryReplayStore",
    "Principal",
    "ProxyFiling",
    "ProxyFilingInvalid",
    "ReplayStore",
    "Resident",
    "SignatureInvalid",
    "TokenExpired",
    "TokenInvalid",
    "TokenMalformed",
    "TokenNotYetValid",
    "TokenReplayed",
    "TokenTooLarge",
    "TokenVerifier",
    "TrustedIssuer",
    "check_assurance",
    "load_trusted_issuers",
    "parse_proxy_filing",
]
