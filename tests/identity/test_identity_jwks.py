"""JWKS: a real key set served over HTTP on loopback, rotated and revoked; files too."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from identity import KeyUnknown, Resident, TokenVerifier, TrustedIssuer
from identity.jwks import FileFetcher, HttpFetcher, JwksError, parse_jwks
from tests.support.tokens import AUDIENCE, RESIDENT_ISSUER, IssuerKit, public_jwk


@dataclass
class JwksServer:
    """A tiny HTTP server on 127.0.0.1 serving ``documents[path]``; counts requests."""

    documents: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    port: int = 0
    delay: float = 0.0

    def url(self, path: str = "/jwks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, keys: list[dict[str, Any]], path: str = "/jwks") -> None:
        self.documents[path] = (200, json.dumps({"keys": keys}).encode(), {})


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits[self.path] = state.hits.get(self.path, 0) + 1
            if state.delay:
                time.sleep(state.delay)
            status, body, headers = state.documents.get(self.path, (404, b"", {}))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


class FakeMonotonic:
    """An injected monotonic clock, so the 30 s rate limit is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _jwk(key: ec.EllipticCurvePrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    return {**public_jwk(key), "kid": kid, "use": "sig", "alg": "ES256", **extra}


def _url_issuer(url: str, **changes: Any) -> TrustedIssuer:
    fields: dict[str, Any] = {
        "issuer": RESIDENT_ISSUER,
        "kind": "resident",
        "audience": AUDIENCE,
        "algorithms": ("ES256",),
        "jwks_url": url,
        "leeway_seconds": 30,
        "max_age_seconds": 3600,
    }
    return TrustedIssuer(**{**fields, **changes})


def test_rotation_rate_limit_and_revocation_over_http(issuers: IssuerKit, jwks_server):
    key1, key2, key3 = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    jwks_server.serve([_jwk(key1, "k1")])
    clock = FakeMonotonic()
    verifier = TokenVerifier([_url_issuer(jwks_server.url())], monotonic=clock)
    claims = issuers.resident_claims()

    # Lazy first fetch, then served from the cache.
    assert isinstance(verifier.verify(issuers.sign(claims, key=key1, kid="k1")), Resident)
    assert isinstance(verifier.verify(issuers.sign(claims, key=key1, kid="k1")), Resident)
    assert jwks_server.hits["/jwks"] == 1

    # The issuer rotates: k2 is published beside k1. A token with k2 arrives 31 s after
    # the last fetch: unknown kid -> one refresh -> accepted, without a restart.
    jwks_server.serve([_jwk(key1, "k1"), _jwk(key2, "k2")])
    clock.now += 31
    assert isinstance(verifier.verify(issuers.sign(claims, key=key2, kid="k2")), Resident)
    assert jwks_server.hits["/jwks"] == 2

    # Made-up kids: at most one fetch per 30 s, however many tokens.
    for n in range(20):
        with pytest.raises(KeyUnknown):
            verifier.verify(issuers.sign(claims, key=key3, kid=f"bogus-{n}"))
    assert jwks_server.hits["/jwks"] == 2
    clock.now += 30
    with pytest.raises(KeyUnknown):
        verifier.verify(issuers.sign(claims, key=key3, kid="bogus-x"))
    assert jwks_server.hits["/jwks"] == 3

    # k1 is revoked (removed). Within the cache age it still verifies; once the cache is
    # older than jwks_max_age_seconds it is fetched again and k1 is refused.
    jwks_server.serve([_jwk(key2, "k2")])
    assert isinstance(verifier.verify(issuers.sign(claims, key=key1, kid="k1")), Resident)
    clock.now += 301
    with pytest.raises(KeyUnknown):
        verifier.verify(issuers.sign(claims, key=key1, kid="k1"))
    assert isinstance(verifier.verify(issuers.sign(claims, key=key2, kid="k2")), Resident)
    assert verifier.key_set(RESIDENT_ISSUER).kids == {"k2"}


def test_an_unknown_kid_is_refused_even_right_after_a_fetch(issuers, jwks_server):
    key = ec.generate_private_key(ec.SECP256R1())
    jwks_server.serve([_jwk(key, "k1")])
    verifier = TokenVerifier([_url_issuer(jwks_server.url())])
    with pytest.raises(KeyUnknown):
        verifier.verify(issuers.sign(issuers.resident_claims(), key=key, kid="k9"))


@pytest.mark.parametrize(
    "problem",
    ["status-500", "redirect", "not-json", "too-large", "private-key", "duplicate-kid"],
)
def test_a_bad_refresh_keeps_the_previous_keys(issuers, jwks_server, problem):
    key1, key2 = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    jwks_server.serve([_jwk(key1, "k1")])
    clock = FakeMonotonic()
    verifier = TokenVerifier([_url_issuer(jwks_server.url())], monotonic=clock)
    claims = issuers.resident_claims()
    assert verifier.verify(issuers.sign(claims, key=key1, kid="k1"))

    bad: dict[str, tuple[int, bytes, dict[str, str]]] = {
        "status-500": (500, b"{}", {}),
        "redirect": (302, b"", {"Location": jwks_server.url("/elsewhere")}),
        "not-json": (200, b"<html>", {}),
        "too-large": (200, b" " * (300 * 1024), {}),
        "private-key": (
            200,
            json.dumps({"keys": [{**_jwk(key2, "k2"), "d": "AAAA"}]}).encode(),
            {},
        ),
        "duplicate-kid": (
            200,
            json.dumps({"keys": [_jwk(key2, "k2"), _jwk(key1, "k2")]}).encode(),
            {},
        ),
    }
    jwks_server.documents["/jwks"] = bad[problem]
    jwks_server.serve([_jwk(key2, "k2")], path="/elsewhere")
    clock.now += 301
    # The refresh fails: k1 still verifies (availability), k2 is still unknown.
    assert verifier.verify(issuers.sign(claims, key=key1, kid="k1"))
    with pytest.raises(KeyUnknown):
        verifier.verify(issuers.sign(claims, key=key2, kid="k2"))
    assert jwks_server.hits.get("/elsewhere", 0) == 0  # redirects are not followed


def test_http_fetcher_refuses_oversized_and_slow_answers(jwks_server):
    jwks_server.documents["/big"] = (200, b"x" * 5000, {})
    with pytest.raises(JwksError, match="larger"):
        HttpFetcher(jwks_server.url("/big"), max_bytes=4096)()
    jwks_server.documents["/slow"] = (200, b"{}", {})
    jwks_server.delay = 0.4
    with pytest.raises(JwksError, match="Timeout"):
        HttpFetcher(jwks_server.url("/slow"), timeout=0.1)()


def test_the_first_fetch_failing_refuses_tokens(issuers, jwks_server):
    verifier = TokenVerifier([_url_issuer(jwks_server.url("/missing"))])
    with pytest.raises(KeyUnknown):
        verifier.verify(issuers.sign(issuers.resident_claims()))


def test_file_jwks_rotates_when_the_file_is_replaced(issuers, tmp_path: Path):
    key1, key2 = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [_jwk(key1, "k1")]}))
    clock = FakeMonotonic()
    issuer = _url_issuer("unused", jwks_url=None, jwks_file=str(path))
    verifier = TokenVerifier([issuer], monotonic=clock)
    claims = issuers.resident_claims()
    assert verifier.verify(issuers.sign(claims, key=key1, kid="k1"))
    path.write_text(json.dumps({"keys": [_jwk(key2, "k2")]}))
    clock.now += 31
    assert verifier.verify(issuers.sign(claims, key=key2, kid="k2"))
    with pytest.raises(KeyUnknown):  # k1 left with the replaced file
        verifier.verify(issuers.sign(claims, key=key1, kid="k1"))
    with pytest.raises(JwksError, match="exceeds"):
        path.write_bytes(b" " * 100)
        FileFetcher(path, max_bytes=10)()


def test_parse_skips_keys_that_are_not_for_us(issuers):
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = _url_issuer("https://eid.example.test/jwks")
    document = {
        "keys": [
            _jwk(key, "enc-key", use="enc"),
            {k: v for k, v in _jwk(key, "x").items() if k != "kid"},
            {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},  # RS256 not allowed anyway
            {**_jwk(key, "p384"), "crv": "P-384"},
            {**_jwk(key, "bad-point"), "x": "AAAA"},
            _jwk(key, "good"),
        ]
    }
    assert set(parse_jwks(json.dumps(document), issuer)) == {"good"}
    with pytest.raises(JwksError):
        parse_jwks(b'{"keys": {}}', issuer)
    with pytest.raises(JwksError):
        parse_jwks(b"[]", issuer)


def test_concurrent_unknown_kids_cause_one_fetch(issuers, jwks_server):
    key = ec.generate_private_key(ec.SECP256R1())
    jwks_server.serve([_jwk(key, "k1")])
    jwks_server.delay = 0.2
    verifier = TokenVerifier([_url_issuer(jwks_server.url())])
    token = issuers.sign(issuers.resident_claims(), key=key, kid="k1")
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(verifier.verify(token))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and all(isinstance(r, Resident) for r in results)
    assert jwks_server.hits["/jwks"] == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"jwks_url": "http://eid.example.test/jwks"},  # plain http off loopback
        {"jwks_url": None},  # no key source
        {"jwks_file": "/tmp/x.json"},  # two key sources
        {"jwks_refresh_seconds": 600, "jwks_max_age_seconds": 300},
    ],
)
def test_doubtful_jwks_configuration_is_refused(changes):
    with pytest.raises(ValueError):
        _url_issuer("http://127.0.0.1:9/jwks", **changes)
