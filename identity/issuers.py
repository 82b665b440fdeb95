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
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Algorithm", "TrustedIssuer", "public_key_from_jwk"]

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


class TrustedIssuer(BaseModel):
    """An issuer whose tokens the verifier accepts.

    :param issuer: the exact ``iss`` value (an ``https://`` URL).
    :param kind: which principal its tokens produce.
    :param audience: the ``aud`` value its tokens must carry for us.
    :param algorithms: signature algorithms accepted from it, fixed here.
    :param keys: ``kid`` → public JWK. A JWK's own ``kid``/``alg``/``use``, when present,
        must agree with this entry.
    :param leeway_seconds: clock skew tolerated on ``exp``, ``nbf`` and ``iat`` (0-60).
    :param max_age_seconds: oldest ``iat`` accepted, whatever ``exp`` says.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    issuer: Annotated[str, Field(min_length=9, max_length=1024, pattern=r"^https://\S+$")]
    kind: Literal["resident", "caseworker"]
    audience: Annotated[str, Field(min_length=1, max_length=1024)]
    # Lax only for the container, so a list read from a JSON or TOML file is accepted;
    # the names themselves must match exactly.
    algorithms: tuple[Algorithm, ...] = Field(min_length=1, strict=False)
    keys: dict[Annotated[str, Field(min_length=1, max_length=256)], dict[str, Any]] = Field(
        min_length=1
    )
    leeway_seconds: int = Field(ge=0, le=60)
    max_age_seconds: int = Field(gt=0)

    @model_validator(mode="after")
    def _check_keys(self) -> TrustedIssuer:
        if len(set(self.algorithms)) != len(self.algorithms):
            raise ValueError("algorithms must not repeat")
        for kid, jwk in self.keys.items():
            if "kid" in jwk and jwk["kid"] != kid:
                raise ValueError(f"key {kid!r}: its JWK 'kid' differs from the entry")
            if "use" in jwk and jwk["use"] != "sig":
                raise ValueError(f"key {kid!r}: 'use' must be 'sig'")
            public_key_from_jwk(jwk)
            if not self.algorithms_for(kid):
                raise ValueError(f"key {kid!r}: fits none of the issuer's algorithms")
        return self

    def algorithms_for(self, kid: str) -> tuple[Algorithm, ...]:
        """The issuer's algorithms that the key ``kid`` may be used with."""
        jwk = self.keys[kid]
        fitting = _ALGORITHMS_FOR_KTY.get(jwk.get("kty", ""), frozenset())
        if "alg" in jwk:
            fitting = fitting & {jwk["alg"]}
        return tuple(a for a in self.algorithms if a in fitting)
