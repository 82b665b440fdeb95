"""Token verification: a compact JWS in, a :class:`Resident` or :class:`Caseworker` out.

The order of checks is the security argument, so it is spelled out:

1. size limit, before anything is parsed;
2. strict parsing of our own: exactly three base64url segments (a five-segment JWE is
   refused), canonical base64url, JSON objects without duplicate keys or ``NaN``;
3. header ``alg`` must be one we ever accept (so ``none`` and ``HS*`` stop here), and
   ``crit`` extensions are refused;
4. the unverified ``iss`` picks the :class:`TrustedIssuer`; the header ``alg`` must be in
   *its* fixed list and ``kid`` must name one of *its* keys — we choose the single key,
   python-jose never sees a key set (with a set it would try every key and ignore
   ``kid``) and never chooses the algorithm;
   The issuer's keys come from its :class:`~identity.jwks.KeySet` (inline keys, a JWKS
   file or a JWKS URL; an unknown ``kid`` triggers a rate-limited refresh);
5. python-jose verifies the signature with that one key and checks ``aud``, ``iss``,
   ``sub`` (all required);
6. time claims are checked here against the verifier's clock (``exp`` and ``iat``
   required, ``nbf`` optional, leeway bounded by the issuer, ``iat`` not in the future
   and not older than the issuer's max age);
7. a token carrying a 個人番号 claim (``my_number``, ``individual_number``, ...: any
   spelling, at any depth; :mod:`forms.secretkeys`) is refused: login never asks for
   it and we must not receive it;
8. the principal is built from the claims, strictly;
9. last, for a one-time issuer, the ``jti`` is recorded and a replay refused — last, so
   a token refused for another reason does not use up its ``jti``.

Every failure is an :class:`~identity.errors.IdentityError`; python-jose's exceptions are
mapped at this border.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from jose import jwt
from jose.backends.base import Key
from jose.exceptions import (
    ExpiredSignatureError,
    JOSEError,
    JWSError,
    JWTClaimsError,
    JWTError,
)
from pydantic import ValidationError

from forms.secretkeys import my_number_keys
from identity.errors import (
    AlgorithmNotAllowed,
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
from identity.issuers import TrustedIssuer
from identity.jwks import KeySet, key_set_for
from identity.principals import AnyPrincipal, Business, Caseworker, Resident
from identity.replay import ReplayStore

__all__ = ["DEFAULT_MAX_TOKEN_BYTES", "TokenVerifier"]

DEFAULT_MAX_TOKEN_BYTES = 8192

# Algorithms any issuer may be configured with. Checked before the issuer is even looked
# up, so "none", HS* and anything exotic are refused whatever the token claims.
_ACCEPTABLE_ALGORITHMS = frozenset({"ES256", "RS256", "PS256"})

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_BIRTHDATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MISSING_CLAIM = re.compile(r'missing required key "([A-Za-z0-9_]+)" among claims')
# NumericDate bound: 9999-12-31T23:59:59Z. Larger values are nonsense, not "valid forever".
_MAX_NUMERIC_DATE = 253_402_300_799

_JOSE_OPTIONS: Mapping[str, Any] = {
    "verify_signature": True,
    "verify_aud": True,
    "verify_iss": True,
    "verify_sub": True,
    "verify_jti": True,
    "verify_at_hash": True,
    "require_aud": True,
    "require_iss": True,
    "require_sub": True,
    # Time claims are ours (step 6): python-jose compares them with the wall clock, not
    # the verifier's clock, and its require_exp/require_iat switch those checks back on.
    # So they are neither verified nor required here, and required below instead.
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "require_exp": False,
    "require_iat": False,
    "require_nbf": False,
    "leeway": 0,
}

# Principal fields whose claim has another name, for error messages.
_CLAIM_OF_FIELD = {
    "issuer": "iss",
    "subject": "sub",
    "assurance": "acr",
    "corporate_number": "corporate_number",
    "name": "name",
    "representative": "representative_name",
    "user_name": "name",
}

_MAX_JTI = 255


@dataclass(frozen=True, slots=True)
class _Issuer:
    config: TrustedIssuer
    keys: KeySet


class TokenVerifier:
    """Verifies tokens from a fixed set of trusted issuers.

    :param issuers: the trusted issuers; their ``issuer`` values must be distinct.
    :param max_token_bytes: tokens longer than this (UTF-8 bytes) are refused unparsed.
    :param clock: seconds since the epoch; the only clock used for ``exp``/``nbf``/``iat``.
    :param replay_store: where one-time issuers' ``jti`` values are recorded; required
        when any issuer is ``one_time``.
    :param http: the httpx client that fetches JWKS URLs (one with timeouts is made per
        issuer if omitted).
    :param monotonic: the clock of the key cache and its refresh rate limit.
    :raises ValueError: on duplicate issuers, a non-positive size limit, or a one-time
        issuer without a replay store.
    """

    def __init__(
        self,
        issuers: Sequence[TrustedIssuer],
        *,
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        clock: Callable[[], float] = time.time,
        replay_store: ReplayStore | None = None,
        http: httpx.Client | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(max_token_bytes, bool) or not isinstance(max_token_bytes, int):
            raise ValueError("max_token_bytes must be an int")
        if max_token_bytes <= 0:
            raise ValueError("max_token_bytes must be positive")
        self._max_token_bytes = max_token_bytes
        self._clock = clock
        self._issuers: dict[str, _Issuer] = {}
        for config in issuers:
            if config.issuer in self._issuers:
                raise ValueError(f"issuer configured twice: {config.issuer}")
            if config.one_time and replay_store is None:
                raise ValueError(f"issuer {config.issuer} is one_time: give a replay_store")
            keys = key_set_for(config, http=http, monotonic=monotonic)
            self._issuers[config.issuer] = _Issuer(config=config, keys=keys)
        self._replay_store = replay_store

    @property
    def issuers(self) -> tuple[TrustedIssuer, ...]:
        """The trusted issuers, in configuration order."""
        return tuple(i.config for i in self._issuers.values())

    def key_set(self, issuer: str) -> KeySet:
        """The key cache of ``issuer`` (for operators' checks and tests).

        :raises KeyError: if ``issuer`` is not trusted.
        """
        return self._issuers[issuer].keys

    def verify(self, token: str) -> AnyPrincipal:
        """Verify ``token`` and return the principal it establishes.

        :param token: a compact JWS (without any ``Bearer`` prefix).
        :raises TokenInvalid: or one of its subclasses (see :mod:`identity.errors`);
            nothing else escapes.
        """
        try:
            return self._verify(token)
        except IdentityError:
            raise
        except Exception as exc:
            # The contract is "IdentityError only": an unforeseen failure (a python-jose
            # corner, a bug here) must still refuse the token, never let it through or
            # surface as a 500 with a library's message.
            raise TokenInvalid(f"unexpected {type(exc).__name__} during verification") from exc

    # -- steps -------------------------------------------------------------------------

    def _verify(self, token: str) -> AnyPrincipal:
        if not isinstance(token, str):
            raise TokenMalformed("token is not a string")
        # len() in characters is a lower bound of the UTF-8 length: cheap first check.
        if len(token) > self._max_token_bytes or (
            len(token.encode("utf-8", "surrogatepass")) > self._max_token_bytes
        ):
            raise TokenTooLarge(f"token exceeds {self._max_token_bytes} bytes")

        segments = token.split(".")
        if len(segments) == 5:
            raise TokenMalformed("encrypted tokens (JWE) are not accepted")
        if len(segments) != 3:
            raise TokenMalformed("a token has exactly three segments")
        header_b64, payload_b64, signature_b64 = segments

        header = _json_object(_b64url_decode(header_b64, "header"), "header")
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise TokenMalformed("header has no alg")
        if alg not in _ACCEPTABLE_ALGORITHMS:
            raise AlgorithmNotAllowed("header alg is not an accepted algorithm")
        if "crit" in header:
            raise TokenMalformed("critical header extensions are not supported")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
            raise TokenMalformed("header typ is not JWT")
        kid = header.get("kid")
        if kid is None:
            raise KeyUnknown("header has no kid")
        if not isinstance(kid, str):
            raise TokenMalformed("header kid is not a string")

        unverified = _json_object(_b64url_decode(payload_b64, "payload"), "payload")
        _b64url_decode(signature_b64, "signature")

        iss = unverified.get("iss")
        if iss is None:
            raise ClaimMissing("iss")
        if not isinstance(iss, str):
            raise ClaimInvalid("iss", "not a string")
        issuer = self._issuers.get(iss)
        if issuer is None:
            raise IssuerUnknown("iss is not a trusted issuer")
        config = issuer.config
        if alg not in config.algorithms:
            raise AlgorithmNotAllowed(f"{alg} is not allowed for this issuer")
        if len(kid) > 256:
            raise KeyUnknown("kid is not a key of this issuer")
        by_alg = issuer.keys.get(kid)
        if by_alg is None:
            raise KeyUnknown("kid is not a key of this issuer")
        key = by_alg.get(alg)
        if key is None:
            raise AlgorithmNotAllowed(f"{alg} is not allowed with this key")

        claims = _jose_decode(token, key, config)
        now = float(self._clock())
        _check_times(claims, config, now)
        _refuse_forbidden_claims(claims)
        principal: AnyPrincipal
        if config.kind == "resident":
            principal = _resident(claims, config)
        elif config.kind == "business":
            principal = _business(claims, config)
        else:
            principal = _caseworker(claims, config)
        if config.one_time:
            self._use_once(claims, config, now)
        return principal

    def _use_once(self, claims: Mapping[str, Any], config: TrustedIssuer, now: float) -> None:
        jti = _required_str(claims, "jti")
        if not jti or len(jti) > _MAX_JTI:
            raise ClaimInvalid("jti", f"empty or longer than {_MAX_JTI} characters")
        assert self._replay_store is not None
        # Remember it as long as the token could be accepted at all.
        expires_at = float(claims["exp"]) + config.leeway_seconds
        if not self._replay_store.first_use(config.issuer, jti, expires_at, now):
            raise TokenReplayed("jti already used")


# -- parsing -----------------------------------------------------------------------------


def _b64url_decode(segment: str, what: str) -> bytes:
    # base64.urlsafe_b64decode silently skips characters outside the alphabet; refuse
    # them, padding, and non-canonical encodings so that one token has one spelling.
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise TokenMalformed(f"{what} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenMalformed(f"{what} is not base64url") from exc
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != segment:
        raise TokenMalformed(f"{what} is not canonical base64url")
    return raw


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        # Parsers disagree on duplicates (first or last wins): refuse the ambiguity.
        raise ValueError("duplicate member")
    return result


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise TokenMalformed(f"{what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise TokenMalformed(f"{what} is not a JSON object")
    return value


# -- python-jose, mapped -----------------------------------------------------------------


def _jose_decode(token: str, key: Key, config: TrustedIssuer) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=list(config.algorithms),
            audience=config.audience,
            issuer=config.issuer,
            options=dict(_JOSE_OPTIONS),
        )
    except ExpiredSignatureError as exc:  # not raised with verify_exp off; mapped anyway
        raise TokenExpired("exp passed") from exc
    except JWTClaimsError as exc:
        raise _claims_error(str(exc)) from exc
    except JWTError as exc:
        raise _jwt_error(exc) from exc
    except JOSEError as exc:
        raise TokenInvalid(type(exc).__name__) from exc
    if not isinstance(claims, dict):
        raise TokenMalformed("payload is not a JSON object")
    return claims


def _claims_error(message: str) -> TokenInvalid:
    # python-jose 3.5 tells claim failures apart only by message.
    if message == "Invalid audience":
        return AudienceMismatch("aud does not contain the expected audience")
    if message == "Invalid claim format in token":
        return ClaimInvalid("aud", "not a string or list of strings")
    if message == "Invalid issuer":
        return IssuerUnknown("iss does not match the issuer")
    if message.startswith("Subject"):
        return ClaimInvalid("sub", "not a string")
    if message.startswith("JWT ID"):
        return ClaimInvalid("jti", "not a string")
    if "at_hash" in message:
        return ClaimInvalid("at_hash", "cannot be checked")
    return ClaimInvalid("claims", "refused by python-jose")


def _jwt_error(exc: JWTError) -> TokenInvalid:
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, JWSError):
        # jwt.decode wraps every JWS failure (parsing, alg, signature) in JWTError(JWSError).
        message = str(cause)
        if message == "Signature verification failed.":
            return SignatureInvalid("signature does not verify")
        if message == "The specified alg value is not allowed":
            return AlgorithmNotAllowed("alg not allowed")
        if "segments" in message or "padding" in message or "header" in message:
            return TokenMalformed("JWS structure refused by python-jose")
        return SignatureInvalid("signature could not be verified")
    message = str(exc)
    missing = _MISSING_CLAIM.fullmatch(message)
    if missing:
        return ClaimMissing(missing.group(1))
    if message.startswith("Invalid payload string"):
        return TokenMalformed("payload is not a JSON object")
    return TokenInvalid("refused by python-jose")


# -- time --------------------------------------------------------------------------------


def _numeric_date(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    if name not in claims:
        if required:
            raise ClaimMissing(name)
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClaimInvalid(name, "not a number")
    if not math.isfinite(value) or not 0 <= value <= _MAX_NUMERIC_DATE:
        raise ClaimInvalid(name, "out of range")
    return float(value)


def _check_times(claims: Mapping[str, Any], config: TrustedIssuer, now: float) -> None:
    exp = _numeric_date(claims, "exp", required=True)
    iat = _numeric_date(claims, "iat", required=True)
    nbf = _numeric_date(claims, "nbf", required=False)
    assert exp is not None and iat is not None
    leeway = config.leeway_seconds
    if exp <= iat:
        raise ClaimInvalid("exp", "not after iat")
    # RFC 7519 §4.1.4: not accepted *on or after* exp.
    if now >= exp + leeway:
        raise TokenExpired("exp passed")
    if nbf is not None and now + leeway < nbf:
        raise TokenNotYetValid("before nbf")
    if iat > now + leeway:
        raise TokenNotYetValid("iat is in the future")
    if now - iat > config.max_age_seconds + leeway:
        raise TokenExpired("iat is older than the issuer's max age")


# -- principals --------------------------------------------------------------------------


def _refuse_forbidden_claims(claims: Mapping[str, Any]) -> None:
    # Login must never carry a 個人番号 (DESIGN.md, Privacy), under any spelling of its
    # name and at any depth (``address.my_number``, ``{"address": {"my_number": ...}}``).
    found = next(my_number_keys(dict(claims)), None)
    if found is not None:
        raise ClaimForbidden(found, "a token must never carry a 個人番号")


def _optional_str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ClaimInvalid(name, "not a string")
    return value


def _required_str(claims: Mapping[str, Any], name: str) -> str:
    if name not in claims:
        raise ClaimMissing(name)
    value = _optional_str(claims, name)
    if value is None:
        raise ClaimInvalid(name, "null")
    return value


def _string_list(claims: Mapping[str, Any], name: str) -> frozenset[str]:
    if name not in claims:
        raise ClaimMissing(name)
    value = claims[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ClaimInvalid(name, "not a list of strings")
    if not value:
        raise ClaimInvalid(name, "empty")
    return frozenset(value)


def _birthdate(claims: Mapping[str, Any]) -> date | None:
    value = _optional_str(claims, "birthdate")
    if value is None:
        return None
    # OpenID Connect's YYYY-MM-DD only; date.fromisoformat alone also takes "20000101".
    if not _BIRTHDATE.fullmatch(value):
        raise ClaimInvalid("birthdate", "not YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ClaimInvalid("birthdate", "not a date") from exc


def _address(claims: Mapping[str, Any], name: str = "address") -> str | None:
    value = claims.get(name)
    # OpenID Connect's address is an object; its "formatted" member is the whole address.
    if isinstance(value, dict):
        value = value.get("formatted")
        if value is None:
            raise ClaimInvalid(name, "object without 'formatted'")
    if value is not None and not isinstance(value, str):
        raise ClaimInvalid(name, "not a string")
    return value


def _from_validation_error(exc: ValidationError) -> ClaimInvalid:
    # Never str(exc): pydantic's message repeats the input value (a name, an address).
    first = exc.errors(include_input=False, include_url=False)[0]
    field = str(first["loc"][0]) if first["loc"] else "claims"
    return ClaimInvalid(_CLAIM_OF_FIELD.get(field, field), first["type"])


def _resident(claims: Mapping[str, Any], config: TrustedIssuer) -> Resident:
    fields = {
        "issuer": config.issuer,
        "subject": claims["sub"],
        "name": _optional_str(claims, "name"),
        "name_kana": _optional_str(claims, "name_kana"),
        "address": _address(claims),
        "birthdate": _birthdate(claims),
        "gender": _optional_str(claims, "gender"),
        "assurance": _required_str(claims, "acr"),
    }
    fields["assurance_level"] = config.assurance_level(fields["assurance"])
    try:
        return Resident(**fields)
    except ValidationError as exc:
        raise _from_validation_error(exc) from None


def _caseworker(claims: Mapping[str, Any], config: TrustedIssuer) -> Caseworker:
    fields = {
        "issuer": config.issuer,
        "subject": claims["sub"],
        "name": _optional_str(claims, "name"),
        "municipalities": _string_list(claims, "municipalities"),
        "roles": _string_list(claims, "roles"),
    }
    if "departments" in claims:
        fields["departments"] = _string_list(claims, "departments")
    try:
        return Caseworker(**fields)
    except ValidationError as exc:
        raise _from_validation_error(exc) from None


def _business(claims: Mapping[str, Any], config: TrustedIssuer) -> Business:
    acr = _required_str(claims, "acr")
    fields = {
        "issuer": config.issuer,
        "subject": claims["sub"],
        "corporate_number": _required_str(claims, "corporate_number"),
        "name": _required_str(claims, "corporate_name"),
        "name_kana": _optional_str(claims, "corporate_name_kana"),
        "address": _address(claims, "corporate_address"),
        "representative": _optional_str(claims, "representative_name"),
        "user_name": _optional_str(claims, "name"),
        "assurance": acr,
        "assurance_level": config.assurance_level(acr),
    }
    try:
        return Business(**fields)
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        claim = {"name": "corporate_name", "address": "corporate_address"}.get(field)
        raise (
            ClaimInvalid(claim, first["type"]) if claim else _from_validation_error(exc)
        ) from None
