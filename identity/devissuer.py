"""The local development issuer: signs resident and caseworker tokens with a local key.

It stands in for the resident eID and the staff directory when madoguchi runs on a
laptop (``madoguchi dev-token``). Its key is an ES256 (P-256) private JWK in
``<keys_dir>/dev-issuer.jwk``, created on first use with mode 0600 and reused after, so
tokens stay valid across restarts. The server trusts it only in development mode, through
:meth:`DevIssuer.trusted_issuers`; its issuer URLs end in ``.invalid`` so they can never
name a real host.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import stat
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt
from jose.backends.cryptography_backend import CryptographyECKey

from identity.issuers import TrustedIssuer

__all__ = [
    "DEV_ACR_BUSINESS",
    "DEV_ACR_CARD",
    "DEV_ACR_PASSWORD",
    "DEV_AUDIENCE",
    "DEV_BUSINESS_ISSUER",
    "DEV_RESIDENT_ISSUER",
    "DEV_STAFF_ISSUER",
    "KEY_FILE_NAME",
    "DevIssuer",
]

DEV_RESIDENT_ISSUER = "https://dev-issuer.madoguchi.invalid/resident"
DEV_STAFF_ISSUER = "https://dev-issuer.madoguchi.invalid/staff"
DEV_BUSINESS_ISSUER = "https://dev-issuer.madoguchi.invalid/business"
DEV_AUDIENCE = "madoguchi"

#: The development resident issuer's sign-in methods: a card login (like the 個人番号
#: カード's JPKI login) at level ``high``, a password login at ``low``, so the refusal of
#: a weak sign-in for a card-only procedure can be tried locally.
DEV_ACR_CARD = "urn:madoguchi:acr:dev-card"
DEV_ACR_PASSWORD = "urn:madoguchi:acr:dev-password"
DEV_ACR_BUSINESS = "urn:madoguchi:acr:dev-business"
_DEV_ACR_LEVELS = {DEV_ACR_CARD: "high", DEV_ACR_PASSWORD: "low", DEV_ACR_BUSINESS: "substantial"}
KEY_FILE_NAME = "dev-issuer.jwk"

_ALGORITHM = "ES256"
_LEEWAY_SECONDS = 30
_MAX_AGE_SECONDS = 24 * 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _thumbprint(public_jwk: dict[str, str]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an EC public key."""
    required = {k: public_jwk[k] for k in ("crv", "kty", "x", "y")}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def _private_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.private_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.public_numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.public_numbers.y.to_bytes(32, "big")),
        "d": _b64url(numbers.private_value.to_bytes(32, "big")),
    }


def _private_key_from_jwk(jwk: Any) -> ec.EllipticCurvePrivateKey:
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("the development key file must hold an EC P-256 JWK")
    try:
        x, y, d = (
            int.from_bytes(base64.urlsafe_b64decode(jwk[m] + "=" * (-len(jwk[m]) % 4)), "big")
            for m in ("x", "y", "d")
        )
        public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1())
        key = ec.EllipticCurvePrivateNumbers(d, public).private_key()
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError("the development key file holds an invalid EC private key") from exc
    return key


def _write_new_key_file(path: Path, content: bytes) -> bool:
    """Create ``path`` atomically with mode 0600; False if another process won the race.

    The key is written to a private temporary file and then hard-linked into place:
    the link fails if the file already exists, so two processes starting together
    (portal and worker) end up with the same key instead of each overwriting the other.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True


class DevIssuer:
    """Issues development tokens that :class:`identity.verify.TokenVerifier` accepts.

    Build it with :meth:`load_or_create`; never enable its issuers outside development.
    """

    def __init__(
        self, private_key: ec.EllipticCurvePrivateKey, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("the development issuer signs with a P-256 key")
        jwk = _private_jwk(private_key)
        self._public_jwk = {k: jwk[k] for k in ("kty", "crv", "x", "y")}
        self._kid = _thumbprint(self._public_jwk)
        self._signing_key = CryptographyECKey(private_key, _ALGORITHM)
        self._clock = clock

    @classmethod
    def load_or_create(cls, keys_dir: Path, *, clock: Callable[[], float] = time.time) -> DevIssuer:
        """Load the key from ``keys_dir/dev-issuer.jwk``, creating it on first use.

        :param keys_dir: directory of development keys; created (0700) if missing.
        :param clock: seconds since the epoch, used for ``iat``/``exp``.
        :raises PermissionError: if the key file is readable by group or others.
        :raises ValueError: if the key file does not hold an EC P-256 private JWK.
        """
        keys_dir = Path(keys_dir)
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = keys_dir / KEY_FILE_NAME
        if not path.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            content = json.dumps(_private_jwk(key), indent=2).encode("ascii") + b"\n"
            if _write_new_key_file(path, content):
                return cls(key, clock=clock)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise PermissionError(
                f"{path} is accessible by group or others (mode {mode:o}); chmod 600 it"
            )
        try:
            jwk = json.loads(path.read_text(encoding="ascii"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{path} is not a JSON JWK") from exc
        return cls(_private_key_from_jwk(jwk), clock=clock)

    @property
    def kid(self) -> str:
        """The key id: the RFC 7638 thumbprint of the public key."""
        return self._kid

    @property
    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK, with ``kid``, ``alg`` and ``use``."""
        return {**self._public_jwk, "kid": self._kid, "alg": _ALGORITHM, "use": "sig"}

    def issue_resident(
        self,
        sub: str,
        name: str,
        *,
        name_kana: str | None = None,
        address: str | None = None,
        birthdate: date | None = None,
        gender: str | None = None,
        acr: str = DEV_ACR_CARD,
        ttl: timedelta = timedelta(hours=8),
    ) -> str:
        """A signed resident token for subject ``sub``; ``None`` arguments are left out.

        :raises ValueError: if ``ttl`` is under one second.
        """
        claims: dict[str, Any] = {"sub": sub, "name": name, "acr": acr}
        optional = {
            "name_kana": name_kana,
            "address": address,
            "birthdate": birthdate.isoformat() if birthdate is not None else None,
            "gender": gender,
        }
        claims.update({k: v for k, v in optional.items() if v is not None})
        return self._sign(DEV_RESIDENT_ISSUER, claims, ttl)

    def issue_caseworker(
        self,
        sub: str,
        municipalities: Sequence[str],
        roles: Sequence[str],
        *,
        name: str | None = None,
        ttl: timedelta = timedelta(hours=8),
        departments: Sequence[str] = (),
    ) -> str:
        """A signed caseworker token for ``sub``, acting for ``municipalities`` in ``roles``
        (and only for ``departments``' procedures, when given).

        :raises ValueError: if ``ttl`` is under one second, or a sequence is a bare string.
        """
        if isinstance(municipalities, str) or isinstance(roles, str):
            raise ValueError("municipalities and roles are sequences of strings")
        claims: dict[str, Any] = {"sub": sub, "municipalities": list(municipalities)}
        claims["roles"] = list(roles)
        if name is not None:
            claims["name"] = name
        if departments:
            claims["departments"] = list(departments)
        return self._sign(DEV_STAFF_ISSUER, claims, ttl)

    def issue_business(
        self,
        sub: str,
        corporate_number: str,
        corporate_name: str,
        *,
        corporate_address: str | None = None,
        representative_name: str | None = None,
        user_name: str | None = None,
        acr: str = DEV_ACR_BUSINESS,
        ttl: timedelta = timedelta(hours=8),
    ) -> str:
        """A signed business token (like gBizID's) for the corporation ``corporate_number``.

        The number is not checked here, so a test can mint a token with a wrong check
        digit and see the verifier refuse it.

        :raises ValueError: if ``ttl`` is under one second.
        """
        claims: dict[str, Any] = {
            "sub": sub,
            "corporate_number": corporate_number,
            "corporate_name": corporate_name,
            "acr": acr,
        }
        optional = {
            "corporate_address": corporate_address,
            "representative_name": representative_name,
            "name": user_name,
        }
        claims.update({k: v for k, v in optional.items() if v is not None})
        return self._sign(DEV_BUSINESS_ISSUER, claims, ttl)

    def trusted_issuers(self) -> list[TrustedIssuer]:
        """The issuers (resident, business, staff) the server trusts in development mode.

        They hold the public key only.
        """
        return [
            TrustedIssuer(
                issuer=issuer,
                kind=kind,
                audience=DEV_AUDIENCE,
                algorithms=(_ALGORITHM,),
                keys={self._kid: self.public_jwk},
                leeway_seconds=_LEEWAY_SECONDS,
                max_age_seconds=_MAX_AGE_SECONDS,
                acr_levels=dict(_DEV_ACR_LEVELS) if kind != "caseworker" else {},
            )
            for issuer, kind in (
                (DEV_RESIDENT_ISSUER, "resident"),
                (DEV_BUSINESS_ISSUER, "business"),
                (DEV_STAFF_ISSUER, "caseworker"),
            )
        ]

    def _sign(self, issuer: str, claims: dict[str, Any], ttl: timedelta) -> str:
        # Whole seconds: NumericDate here is an int, and exp must come after iat.
        if ttl < timedelta(seconds=1):
            raise ValueError("ttl must be at least one second")
        now = int(self._clock())
        claims = {
            **claims,
            "iss": issuer,
            "aud": DEV_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl.total_seconds()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, self._signing_key, algorithm=_ALGORITHM, headers={"kid": self._kid}
        )
