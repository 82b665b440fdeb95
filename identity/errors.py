"""Errors of the identity package.

Every refusal of :meth:`identity.verify.TokenVerifier.verify` is one of these classes;
python-jose's own exceptions never cross the package border (they are mapped in
:mod:`identity.verify`, as httpx maps its transport errors)::

    IdentityError                 base; .code and .public_message
    └── TokenInvalid              the token cannot be accepted (generic)
        ├── TokenMalformed        not a compact JWS we can parse (bad base64 or JSON,
        │                         wrong number of segments — a 5-segment JWE too)
        ├── TokenTooLarge         over the verifier's byte limit; refused before parsing
        ├── AlgorithmNotAllowed   header ``alg`` not in the issuer's fixed list
        │                         (``none`` and ``HS*`` are never in it)
        ├── IssuerUnknown         ``iss`` is not a trusted issuer
        ├── KeyUnknown            ``kid`` missing or not a key of that issuer
        ├── SignatureInvalid      the signature does not verify with the chosen key
        ├── TokenExpired          past ``exp``, or ``iat`` older than the issuer's max age
        ├── TokenNotYetValid      before ``nbf``, or ``iat`` in the future
        ├── AudienceMismatch      ``aud`` does not name us
        ├── ClaimMissing          a required claim is absent (``.claim`` names it)
        ├── ClaimInvalid          a claim has the wrong type or value (``.claim``)
        ├── ClaimForbidden        a claim we must never receive, i.e. a 個人番号
        │                         (``my_number``, ``individual_number``, ...)
        └── TokenReplayed         a one-time token (its ``jti``) was already used
    AssuranceTooLow               a valid principal whose ``acr`` a procedure does not
                                  accept; carries the procedure's own message (HTTP 403)

``str(error)`` is a diagnostic for logs: it names claims and reasons but never contains
claim values, since tokens carry names and addresses. ``public_message`` is what a user
may see, in Japanese and English, and says nothing about which check failed beyond
"expired" versus "could not be verified".
"""

from __future__ import annotations

from types import MappingProxyType
from typing import ClassVar

__all__ = [
    "AlgorithmNotAllowed",
    "AssuranceTooLow",
    "AudienceMismatch",
    "ClaimForbidden",
    "ClaimInvalid",
    "ClaimMissing",
    "IdentityError",
    "IssuerUnknown",
    "KeyUnknown",
    "SignatureInvalid",
    "TokenExpired",
    "TokenInvalid",
    "TokenMalformed",
    "TokenNotYetValid",
    "TokenReplayed",
    "TokenTooLarge",
]

_NOT_VERIFIED = MappingProxyType(
    {
        "ja": "ログイン情報を確認できませんでした。もう一度ログインしてください。",
        "en": "Your sign-in could not be verified. Please sign in again.",
    }
)

_EXPIRED = MappingProxyType(
    {
        "ja": "ログインの有効期限が切れました。もう一度ログインしてください。",
        "en": "Your sign-in has expired. Please sign in again.",
    }
)


class IdentityError(Exception):
    """Base of every error raised by :mod:`identity`.

    :ivar code: stable machine-readable code, e.g. ``"token_expired"``.
    :ivar detail: diagnostic for logs (no personal data); also ``str(error)``.
    """

    code: ClassVar[str] = "identity_error"
    _public: ClassVar[MappingProxyType[str, str]] = _NOT_VERIFIED

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code

    @property
    def public_message(self) -> dict[str, str]:
        """What may be shown to the user: ``{"ja": ..., "en": ...}``, free of detail."""
        return dict(self._public)


class TokenInvalid(IdentityError):
    """The token cannot be accepted."""

    code = "token_invalid"


class TokenMalformed(TokenInvalid):
    """The token is not a well-formed compact JWS (JWE and unsecured tokens included)."""

    code = "token_malformed"


class TokenTooLarge(TokenInvalid):
    """The token exceeds the verifier's size limit; it was not parsed."""

    code = "token_too_large"


class SignatureInvalid(TokenInvalid):
    """The signature does not verify with the issuer's key named by ``kid``."""

    code = "signature_invalid"


class TokenExpired(TokenInvalid):
    """The token is past ``exp`` (plus leeway), or older than the issuer's max age."""

    code = "token_expired"
    _public = _EXPIRED


class TokenNotYetValid(TokenInvalid):
    """The token is before its ``nbf``, or its ``iat`` lies in the future (beyond leeway)."""

    code = "token_not_yet_valid"


class AudienceMismatch(TokenInvalid):
    """The ``aud`` claim does not contain the audience the issuer is trusted for."""

    code = "audience_mismatch"


class IssuerUnknown(TokenInvalid):
    """The ``iss`` claim names no trusted issuer."""

    code = "issuer_unknown"


class KeyUnknown(TokenInvalid):
    """The header has no ``kid``, or it names no key of the issuer."""

    code = "key_unknown"


class _ClaimError(TokenInvalid):
    def __init__(self, claim: str, detail: str = "") -> None:
        super().__init__(f"{claim}: {detail}" if detail else claim)
        self.claim = claim


class ClaimMissing(_ClaimError):
    """A required claim is absent; ``.claim`` is its name."""

    code = "claim_missing"


class ClaimInvalid(_ClaimError):
    """A claim has the wrong type or value; ``.claim`` is its name."""

    code = "claim_invalid"


class AlgorithmNotAllowed(TokenInvalid):
    """The header ``alg`` is not one the issuer is trusted with (never ``none``, ``HS*``)."""

    code = "algorithm_not_allowed"


class ClaimForbidden(_ClaimError):
    """The token carries a claim madoguchi must never receive (a 個人番号); ``.claim``.

    Login never asks for the My Number. An issuer that sends one anyway is misconfigured:
    the token is refused, so the number is neither stored nor passed on, and the operator
    sees ``claim_forbidden`` in the log (the claim's name only, never its value).
    """

    code = "claim_forbidden"


class TokenReplayed(TokenInvalid):
    """A token of a one-time issuer whose ``jti`` has been seen before."""

    code = "token_replayed"


class AssuranceTooLow(IdentityError):
    """The principal is genuine, but its sign-in method is too weak for the procedure.

    Raised by :func:`identity.assurance.check_assurance`. ``public_message`` is the
    procedure's own text telling the user what to sign in with instead; the portal
    answers 403 (not 401: signing in again the same way would not help).

    :ivar required: the accepted ``acr`` values / levels, for logs.
    """

    code = "assurance_too_low"

    def __init__(
        self, message: dict[str, str], detail: str = "", *, required: tuple[str, ...] = ()
    ) -> None:
        super().__init__(detail or "sign-in method too weak for this procedure")
        self._message = {"ja": message["ja"], "en": message["en"]}
        self.required = required

    @property
    def public_message(self) -> dict[str, str]:
        return dict(self._message)
