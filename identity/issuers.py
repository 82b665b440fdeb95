"""Trusted issuers: whom we accept tokens from, with which keys and algorithms.

A :class:`TrustedIssuer` is configuration, checked when it is built: algorithms are a
fixed list per issuer (never taken from a token), keys are public JWKs keyed by ``kid``
and must fit those algorithms. Anything doubtful — a private key, a symmetric key, an
RSA modulus under 2048 bits, a curve other than P-256 — is refused here, long before a
token arrives.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ASSURANCE_ORDER",
    "Algorithm",
    "AssuranceLevel",
    "IssuerKind",
    "TrustedIssuer",
    "public_key_from_jwk",
]

Algorithm = Literal["ES256", "RS256", "PS256"]

# Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4).
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_ALGORITHMS_FOR_KTY: dict[str, frozenset[str]] = {
    "EC": frozenset({"ES256"}),
    "RSA": frozenset({"RS256", "PS256"}),
}
_MIN_RSA_BITS = 2048

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


def _b64url_uint(value: Any, member: str) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError(f"JWK member {member!r} must be a non-empty base64url string")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"JWK member {member!r} is not base64url") from exc
    return int.from_bytes(raw, "big")


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """Build a public key from a public JWK (EC P-256 or RSA ≥ 2048 bits).

    :raises ValueError: if the JWK is private, symmetric, of another type or curve,
        too small, or not a valid point/modulus.
    """
    private = _PRIVATE_MEMBERS.intersection(jwk)
    if private:
        raise ValueError("a trusted key must be public (found private members)")
    kty = jwk.get("kty")
    if kty == "EC":
        if jwk.get("crv") != "P-256":
            raise ValueError("EC keys must be on P-256")
        x = _b64url_uint(jwk.get("x"), "x")
        y = _b64url_uint(jwk.get("y"), "y")
        # cryptography checks that the point lies on the curve.
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    if kty == "RSA":
        n = _b64url_uint(jwk.get("n"), "n")
        e = _b64url_uint(jwk.get("e"), "e")
        if n.bit_length() < _MIN_RSA_BITS:
            raise ValueError(f"RSA keys must have at least {_MIN_RSA_BITS} bits")
        return rsa.RSAPublicNumbers(e, n).public_key()
    raise ValueError("only EC (P-256) and RSA public keys are accepted")


AssuranceLevel = Literal["low", "substantial", "high"]
"""How strongly a sign-in proved who someone is, weakest first. ``high`` is a login with
the 個人番号カード (JPKI signature certificate); ``low`` is a password or anything unknown."""

ASSURANCE_ORDER: dict[str, int] = {"low": 0, "substantial": 1, "high": 2}

IssuerKind = Literal["resident", "business", "caseworker"]

# Plain http is for an issuer on this very machine only (tests, a sidecar); anything
# that crosses a network must be https.
_LOOPBACK_HTTP = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?/\S*$")


class TrustedIssuer(BaseModel):
    """An issuer whose tokens the verifier accepts.

    :param issuer: the exact ``iss`` value (an ``https://`` URL).
    :param kind: which principal its tokens produce: ``resident`` (a resident eID such as
        the 個人番号カード's JPKI-backed login), ``business`` (a business ID such as
        gBizID) or ``caseworker`` (the municipality's staff directory).
    :param audience: the ``aud`` value its tokens must carry for us.
    :param algorithms: signature algorithms accepted from it, fixed here.
    :param keys: ``kid`` → public JWK, given inline. A JWK's own ``kid``/``alg``/``use``,
        when present, must agree with this entry.
    :param jwks_file: a JWKS document on disk, re-read on an unknown ``kid`` (rotation
        without restart).
    :param jwks_url: a JWKS document fetched with httpx (``https://``; plain ``http://``
        only to a loopback address). Exactly one of ``keys``, ``jwks_file``,
        ``jwks_url`` is given.
    :param leeway_seconds: clock skew tolerated on ``exp``, ``nbf`` and ``iat`` (0-60).
    :param max_age_seconds: oldest ``iat`` accepted, whatever ``exp`` says.
    :param one_time: tokens must carry a ``jti`` and each is accepted once.
    :param acr_levels: ``acr`` value → assurance level; an ``acr`` not listed is ``low``.
    :param jwks_refresh_seconds: least time between two fetches of the key set, so a
        flood of tokens with made-up ``kid`` values cannot hammer the issuer.
    :param jwks_max_age_seconds: a key set older than this is fetched again before use,
        which bounds how long a removed (revoked) key is still accepted.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    issuer: Annotated[str, Field(min_length=9, max_length=1024, pattern=r"^https://\S+$")]
    kind: IssuerKind
    audience: Annotated[str, Field(min_length=1, max_length=1024)]
    # Lax only for the container, so a list read from a JSON or TOML file is accepted;
    # the names themselves must match exactly.
    algorithms: tuple[Algorithm, ...] = Field(min_length=1, strict=False)
    keys: dict[Annotated[str, Field(min_length=1, max_length=256)], dict[str, Any]] | None = Field(
        default=None, min_length=1
    )
    jwks_file: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    jwks_url: Annotated[str, Field(min_length=9, max_length=2048)] | None = None
    leeway_seconds: int = Field(ge=0, le=60)
    max_age_seconds: int = Field(gt=0)
    one_time: bool = False
    acr_levels: dict[Annotated[str, Field(min_length=1, max_length=1024)], AssuranceLevel] = Field(
        default_factory=dict
    )
    jwks_refresh_seconds: int = Field(default=30, ge=0, le=86400)
    jwks_max_age_seconds: int = Field(default=300, ge=1, le=7 * 86400)

    @model_validator(mode="after")
    def _check_keys(self) -> TrustedIssuer:
        if len(set(self.algorithms)) != len(self.algorithms):
            raise ValueError("algorithms must not repeat")
        sources = [s for s in (self.keys, self.jwks_file, self.jwks_url) if s is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of 'keys', 'jwks_file', 'jwks_url'")
        if self.jwks_url is not None and not (
            self.jwks_url.startswith("https://") or _LOOPBACK_HTTP.fullmatch(self.jwks_url)
        ):
            raise ValueError("jwks_url must be https:// (plain http only to a loopback address)")
        if self.jwks_refresh_seconds > self.jwks_max_age_seconds:
            raise ValueError("jwks_refresh_seconds must not exceed jwks_max_age_seconds")
        for kid, jwk in (self.keys or {}).items():
            if "kid" in jwk and jwk["kid"] != kid:
                raise ValueError(f"key {kid!r}: its JWK 'kid' differs from the entry")
            if "use" in jwk and jwk["use"] != "sig":
                raise ValueError(f"key {kid!r}: 'use' must be 'sig'")
            public_key_from_jwk(jwk)
            if not self.algorithms_for(kid):
                raise ValueError(f"key {kid!r}: fits none of the issuer's algorithms")
        return self

    def algorithms_for(self, kid: str) -> tuple[Algorithm, ...]:
        """The issuer's algorithms that the inline key ``kid`` may be used with."""
        return self.algorithms_for_jwk((self.keys or {})[kid])

    def algorithms_for_jwk(self, jwk: Mapping[str, Any]) -> tuple[Algorithm, ...]:
        """The issuer's algorithms that a key (as a JWK) may be used with."""
        fitting = _ALGORITHMS_FOR_KTY.get(jwk.get("kty", ""), frozenset())
        if "alg" in jwk:
            fitting = fitting & {jwk["alg"]}
        return tuple(a for a in self.algorithms if a in fitting)

    def assurance_level(self, acr: str) -> AssuranceLevel:
        """The level of an ``acr`` value from this issuer (``low`` when not configured)."""
        return self.acr_levels.get(acr, "low")
