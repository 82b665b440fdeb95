"""Issuers' public keys: JWKS documents indexed by ``kid``, cached, rotated without restart.

One :class:`KeySet` per trusted issuer. It answers "which key objects does ``kid`` name,
per algorithm" and refreshes itself:

* on an **unknown** ``kid`` — a rotation: the issuer published a new key and signs with it
  — but at most once per ``jwks_refresh_seconds`` (default 30 s), so tokens with made-up
  ``kid`` values cannot make us hammer the issuer;
* when the cached set is older than ``jwks_max_age_seconds`` (default 300 s): a key the
  issuer **removed** (revoked) is refused after that refresh, so removal takes effect
  within that bound without a restart.

If a refresh fails (network down, a malformed document) the previous keys stay in use and
a warning is logged with the issuer id and the reason; the failure never reaches the
token's owner as anything but "could not be verified".

A JWKS is parsed strictly: it must be a JSON object with a ``keys`` array; a private or
symmetric key, or two keys with one ``kid``, refuse the whole document (the issuer is
misconfigured and we keep what we had). Keys that are simply not for us — ``use: enc``,
no ``kid``, another curve, an algorithm we do not accept from this issuer — are skipped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from jose.backends.base import Key
from jose.backends.cryptography_backend import CryptographyECKey, CryptographyRSAKey

from identity.issuers import TrustedIssuer, public_key_from_jwk

__all__ = [
    "DEFAULT_MAX_JWKS_BYTES",
    "FileFetcher",
    "HttpFetcher",
    "JwksError",
    "KeySet",
    "jose_key",
    "key_set_for",
    "parse_jwks",
]

log = logging.getLogger("madoguchi.identity")

DEFAULT_MAX_JWKS_BYTES = 256 * 1024
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

#: kid -> {algorithm -> key object usable for exactly that algorithm}
Keys = Mapping[str, Mapping[str, Key]]


class JwksError(Exception):
    """A key set could not be fetched or is not acceptable; the message names the reason
    (never key material)."""


class _PSSKey(Key):
    """PS256 verification (RFC 7518 §3.5), which python-jose 3.5 does not implement.

    Passed to python-jose as the single key object: jose still checks that the header
    ``alg`` is in the allowed list, then calls :meth:`verify`.
    """

    def __init__(self, public_key: rsa.RSAPublicKey) -> None:
        self._public_key = public_key

    def verify(self, msg: bytes, sig: bytes) -> bool:
        try:
            self._public_key.verify(
                sig,
                msg,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return False
        return True


def jose_key(public_key: Any, algorithm: str) -> Key:
    """The python-jose key object that verifies ``algorithm`` with ``public_key`` only."""
    if algorithm == "ES256":
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise ValueError("ES256 needs an EC key")
        return CryptographyECKey(public_key, algorithm)
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError(f"{algorithm} needs an RSA key")
    if algorithm == "RS256":
        return CryptographyRSAKey(public_key, algorithm)
    return _PSSKey(public_key)


def _keys_of(issuer: TrustedIssuer, kid: str, jwk: Mapping[str, Any]) -> dict[str, Key]:
    public_key = public_key_from_jwk(jwk)
    return {alg: jose_key(public_key, alg) for alg in issuer.algorithms_for_jwk(jwk)}


def parse_jwks(document: bytes | str | Mapping[str, Any], issuer: TrustedIssuer) -> Keys:
    """The keys of a JWKS document that ``issuer`` may sign with, by ``kid``.

    :raises JwksError: if the document is not a JWKS, holds a private or symmetric key,
        or names one ``kid`` twice.
    """
    if isinstance(document, bytes | str):
        try:
            document = json.loads(document)
        except (UnicodeDecodeError, ValueError) as exc:
            raise JwksError("not JSON") from exc
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksError("not a JWKS (an object with a 'keys' array)")
    keys: dict[str, dict[str, Key]] = {}
    seen: set[str] = set()
    for position, jwk in enumerate(document["keys"]):
        if not isinstance(jwk, Mapping):
            raise JwksError(f"keys[{position}] is not an object")
        if _PRIVATE_MEMBERS.intersection(jwk):
            # A published private key is an incident at the issuer, not a key to skip.
            raise JwksError(f"keys[{position}] is private or symmetric")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            continue  # we choose keys by kid only
        if kid in seen:
            raise JwksError(f"kid {kid!r} appears twice")
        seen.add(kid)
        if jwk.get("use", "sig") != "sig":
            continue
        try:
            by_alg = _keys_of(issuer, kid, jwk)
        except ValueError as exc:
            log.warning("jwks key skipped: issuer=%s kid=%s reason=%s", issuer.issuer, kid, exc)
            continue
        if by_alg:
            keys[kid] = by_alg
    return keys


class FileFetcher:
    """Reads a JWKS file (each refresh re-reads it, so replacing the file rotates keys)."""

    def __init__(self, path: Path, *, max_bytes: int = DEFAULT_MAX_JWKS_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes

    def __call__(self) -> bytes:
        try:
            with self.path.open("rb") as f:
                data = f.read(self.max_bytes + 1)
        except OSError as exc:
            raise JwksError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        if len(data) > self.max_bytes:
            raise JwksError(f"{self.path} exceeds {self.max_bytes} bytes")
        return data


class HttpFetcher:
    """Fetches a JWKS over HTTP(S) with httpx: no redirects, bounded time and size.

    :param client: a shared ``httpx.Client``; one with these timeouts is made if omitted.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        max_bytes: int = DEFAULT_MAX_JWKS_BYTES,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            follow_redirects=False,
            headers={"Accept": "application/jwk-set+json, application/json"},
        )

    def __call__(self) -> bytes:
        try:
            with self._client.stream("GET", self.url, follow_redirects=False) as response:
                if response.status_code != 200:
                    raise JwksError(f"HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                    raise JwksError(f"larger than {self.max_bytes} bytes")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > self.max_bytes:
                        raise JwksError(f"larger than {self.max_bytes} bytes")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise JwksError(f"{type(exc).__name__}") from exc


class KeySet:
    """The cached keys of one issuer (see the module docstring for the refresh rules).

    :param issuer: the issuer's configuration (algorithms, refresh intervals).
    :param fetch: returns the JWKS document; ``None`` for inline keys, which never change.
    :param monotonic: the clock of the cache and rate limit (seconds, monotonic).
    Thread-safe: the portal verifies tokens on several threads.
    """

    def __init__(
        self,
        issuer: TrustedIssuer,
        fetch: Callable[[], bytes] | None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._fetch = fetch
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: Keys = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self.fetches = 0
        if fetch is None:
            self._keys = {
                kid: _keys_of(issuer, kid, jwk) for kid, jwk in (issuer.keys or {}).items()
            }

    def get(self, kid: str) -> Mapping[str, Key] | None:
        """The key objects of ``kid`` by algorithm, or ``None`` if the issuer has no such
        key (after a refresh, if one is allowed now)."""
        if self._fetch is None:
            return self._keys.get(kid)
        now = self._monotonic()
        keys, loaded_at = self._keys, self._loaded_at
        fresh = loaded_at is not None and now - loaded_at < self.issuer.jwks_max_age_seconds
        if fresh and kid in keys:
            return keys[kid]
        with self._lock:
            if self._loaded_at != loaded_at and kid in self._keys:
                return self._keys[kid]  # another thread refreshed meanwhile
            self._refresh_if_allowed(now)
            return self._keys.get(kid)

    def refresh(self) -> None:
        """Fetch now, ignoring the rate limit (operators; startup checks).

        :raises JwksError: if the fetch fails; the previous keys stay in use.
        """
        if self._fetch is None:
            return
        with self._lock:
            self._load(self._monotonic())

    @property
    def kids(self) -> frozenset[str]:
        """The ``kid`` values currently cached."""
        return frozenset(self._keys)

    def _refresh_if_allowed(self, now: float) -> None:
        attempted = self._attempted_at
        if attempted is not None and now - attempted < self.issuer.jwks_refresh_seconds:
            return
        try:
            self._load(now)
        except JwksError as exc:
            log.warning("jwks refresh failed: issuer=%s reason=%s", self.issuer.issuer, exc)

    def _load(self, now: float) -> None:
        assert self._fetch is not None
        self._attempted_at = now
        self.fetches += 1
        keys = parse_jwks(self._fetch(), self.issuer)
        self._keys, self._loaded_at = keys, now


def key_set_for(
    issuer: TrustedIssuer,
    *,
    http: httpx.Client | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> KeySet:
    """The :class:`KeySet` of an issuer, from its inline keys, JWKS file or JWKS URL."""
    fetch: Callable[[], bytes] | None = None
    if issuer.jwks_file is not None:
        fetch = FileFetcher(Path(issuer.jwks_file))
    elif issuer.jwks_url is not None:
        fetch = HttpFetcher(issuer.jwks_url, client=http)
    return KeySet(issuer, fetch, monotonic=monotonic)
