"""Principal and TrustedIssuer models: strict, frozen, refusing doubtful configuration."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import TypeAdapter, ValidationError

from identity import Caseworker, Principal, Resident, TrustedIssuer


def _b64(n: int, size: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def _ec_jwk(curve: ec.EllipticCurve | None = None, *, private: bool = False) -> dict:
    curve = curve or ec.SECP256R1()
    key = ec.generate_private_key(curve)
    size = (curve.key_size + 7) // 8
    numbers = key.private_numbers()
    jwk = {
        "kty": "EC",
        "crv": {256: "P-256", 384: "P-384"}[curve.key_size],
        "x": _b64(numbers.public_numbers.x, size),
        "y": _b64(numbers.public_numbers.y, size),
    }
    if private:
        jwk["d"] = _b64(numbers.private_value, size)
    return jwk


def _issuer(**changes: Any) -> TrustedIssuer:
    fields: dict[str, Any] = {
        "issuer": "https://eid.example.test",
        "kind": "resident",
        "audience": "madoguchi",
        "algorithms": ("ES256",),
        "keys": {"k1": _ec_jwk()},
        "leeway_seconds": 30,
        "max_age_seconds": 3600,
    }
    fields.update(changes)
    return TrustedIssuer(**fields)


def test_a_valid_issuer_builds_and_accepts_a_json_list_of_algorithms():
    assert _issuer(algorithms=["ES256"]).algorithms == ("ES256",)


@pytest.mark.parametrize(
    "changes",
    [
        {"algorithms": ("HS256",)},
        {"algorithms": ("none",)},
        {"algorithms": ()},
        {"algorithms": ("ES256", "ES256")},
        {"leeway_seconds": 61},
        {"leeway_seconds": -1},
        {"leeway_seconds": "30"},
        {"max_age_seconds": 0},
        {"issuer": "http://eid.example.test"},
        {"keys": {}},
        {"keys": {"k1": _ec_jwk(private=True)}},
        {"keys": {"k1": _ec_jwk(ec.SECP384R1())}},
        {"keys": {"k1": {"kty": "oct", "k": "c2VjcmV0"}}},
        {"keys": {"k1": {**_ec_jwk(), "kid": "k2"}}},
        {"keys": {"k1": {**_ec_jwk(), "use": "enc"}}},
        {"keys": {"k1": {**_ec_jwk(), "x": _b64(1, 32)}}},  # not on the curve
        {"algorithms": ("RS256",)},  # an EC key fits no RSA algorithm
        {"extra": True},
    ],
)
def test_doubtful_issuer_configuration_is_refused(changes):
    with pytest.raises(ValidationError):
        _issuer(**changes)


def test_small_rsa_keys_are_refused():
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
    jwk = {"kty": "RSA", "n": _b64(numbers.n, 128), "e": _b64(numbers.e, 3)}
    with pytest.raises(ValidationError, match="2048"):
        _issuer(algorithms=("RS256",), keys={"k1": jwk})


def test_issuer_is_frozen():
    with pytest.raises(ValidationError):
        _issuer().audience = "other"  # type: ignore[misc]


def test_principal_discriminates_by_kind():
    adapter = TypeAdapter(Principal)
    caseworker = adapter.validate_json(
        '{"kind": "caseworker", "issuer": "https://s", "subject": "c",'
        ' "municipalities": ["131016"], "roles": ["approver"]}'
    )
    assert isinstance(caseworker, Caseworker)
    resident = adapter.validate_json(
        '{"kind": "resident", "issuer": "https://r", "subject": "r", "name": null,'
        ' "assurance": "urn:x", "birthdate": "2000-01-02"}'
    )
    assert isinstance(resident, Resident)
    assert adapter.validate_json(adapter.dump_json(caseworker)) == caseworker


def test_principals_are_strict_and_frozen():
    with pytest.raises(ValidationError):
        Caseworker(
            issuer="https://s",
            subject="c",
            municipalities=frozenset({131016}),
            roles=frozenset({"a"}),
        )  # type: ignore[arg-type]
    resident = Resident(issuer="https://r", subject="r", name=None, assurance="urn:x")
    with pytest.raises(ValidationError):
        resident.subject = "someone-else"  # type: ignore[misc]
