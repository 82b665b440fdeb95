"""Token verification throughput: our strict verifier next to a bare ``jose.jwt.decode``.

Run: ``.venv/bin/python benchmarks/identity.py [--runs 7] [--n 2000]``

One process pinned to one core, warm key cache (the issuer's key set is built before
timing), the same ES256 (and RS256) token for both. The baseline is python-jose's own
``jwt.decode`` with a ready key object, the algorithm list and the audience — what a
naive integration would call; the verifier adds our parsing, per-issuer checks, claim
checks and the principal model on top. Prints the median of ``--runs`` runs of ``--n``
verifications each, and the ratio (verifier / baseline), as text and JSON.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwt
from jose.backends.cryptography_backend import CryptographyECKey, CryptographyRSAKey

from identity import TokenVerifier, TrustedIssuer

ISSUER = "https://eid.bench.test"
AUDIENCE = "madoguchi-bench"


def _b64(n: int, size: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def _setup(alg: str) -> tuple[str, TokenVerifier, object]:
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        numbers = private.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x, 32), "y": _b64(numbers.y, 32)}
        signer, public = (
            CryptographyECKey(private, alg),
            CryptographyECKey(private.public_key(), alg),
        )
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = private.public_key().public_numbers()
        jwk = {"kty": "RSA", "n": _b64(numbers.n, 256), "e": _b64(numbers.e, 3)}
        signer, public = (
            CryptographyRSAKey(private, alg),
            CryptographyRSAKey(private.public_key(), alg),
        )
    issuer = TrustedIssuer(
        issuer=ISSUER,
        kind="resident",
        audience=AUDIENCE,
        algorithms=(alg,),
        keys={"k1": jwk},
        leeway_seconds=30,
        max_age_seconds=3600,
        acr_levels={"urn:bench:card": "high"},
    )
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "pseudonym-0001",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "acr": "urn:bench:card",
        "name": "山田 花子",
        "name_kana": "ヤマダ ハナコ",
        "address": "東京都千代田区千代田1-1",
        "birthdate": "1985-04-01",
        "gender": "female",
        "jti": "bench",
    }
    token = jwt.encode(claims, signer, algorithm=alg, headers={"kid": "k1"})
    return token, TokenVerifier([issuer]), public


def _rate(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    results = {}
    for alg in ("ES256", "RS256"):
        token, verifier, public = _setup(alg)
        verify = functools.partial(verifier.verify, token)
        bare = functools.partial(jwt.decode, token, public, algorithms=[alg], audience=AUDIENCE)
        verify(), bare()  # warm: key cache, imports
        ours, baseline = [], []
        for _ in range(args.runs):  # interleaved, so drift affects both alike
            ours.append(_rate(verify, args.n))
            baseline.append(_rate(bare, args.n))
        med_ours, med_base = statistics.median(ours), statistics.median(baseline)
        results[alg] = {
            "verifier_per_s": round(med_ours),
            "jose_decode_per_s": round(med_base),
            "ratio": round(med_ours / med_base, 3),
            "runs": args.runs,
            "n": args.n,
        }
        print(
            f"{alg}: verifier {med_ours:,.0f}/s  bare jose.jwt.decode {med_base:,.0f}/s  "
            f"ratio {med_ours / med_base:.2f} (median of {args.runs} x {args.n}, one core)"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
