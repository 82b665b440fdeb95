"""Trusted issuers from a configuration file: what loads, and clear errors for what not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from identity import IssuerConfigError, TokenVerifier, load_trusted_issuers
from madoguchi.settings import load_settings
from tests.support.tokens import public_jwk


def _key() -> dict[str, Any]:
    return {**public_jwk(ec.generate_private_key(ec.SECP256R1())), "kid": "k1"}


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "issuer": "https://eid.example.test",
        "kind": "resident",
        "jwks_url": "https://eid.example.test/.well-known/jwks.json",
        "algorithms": ["ES256", "PS256"],
        "audience": "madoguchi-131016",
        "max_age_seconds": 600,
        "leeway_seconds": 30,
        "one_time": True,
        "acr_levels": {"urn:example:acr:jpki-card": "high", "urn:example:acr:pw": "low"},
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def test_three_kinds_load_with_a_relative_jwks_file(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "staff.json").write_text(json.dumps({"keys": [_key()]}))
    path = _write(
        tmp_path,
        {
            "issuers": [
                _entry(),
                _entry(
                    issuer="https://gbiz.example.test",
                    kind="business",
                    one_time=False,
                    jwks_url="https://gbiz.example.test/jwks",
                    algorithms=["RS256"],
                ),
                _entry(
                    issuer="https://staff.example.test",
                    kind="caseworker",
                    jwks_url=None,
                    jwks_file="keys/staff.json",
                    algorithms=["ES256"],
                    acr_levels=None,
                ),
            ]
        },
    )
    resident, business, staff = load_trusted_issuers(path)
    assert (resident.kind, resident.one_time, resident.algorithms) == (
        "resident",
        True,
        ("ES256", "PS256"),
    )
    assert resident.assurance_level("urn:example:acr:jpki-card") == "high"
    assert resident.assurance_level("urn:example:acr:unlisted") == "low"
    assert business.kind == "business"
    assert staff.jwks_file == str((tmp_path / "keys" / "staff.json").resolve())
    # The settings name the file (MADOGUCHI_ISSUERS_FILE, read with every other setting).
    assert load_settings(issuers_file=path).issuers_file == path
    # A one-time issuer needs a replay store.
    with pytest.raises(ValueError, match="replay_store"):
        TokenVerifier([resident])


def _problems(tmp_path: Path, document: Any) -> list[str]:
    with pytest.raises(IssuerConfigError) as info:
        load_trusted_issuers(_write(tmp_path, document))
    assert str(info.value.path) in str(info.value)
    return info.value.problems


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            _entry(leeway_seconds=61),
            "issuers[0].leeway_seconds: Input should be less than or equal",
        ),
        (
            _entry(algorithms=["HS256"]),
            "issuers[0].algorithms[0]: Input should be 'ES256', 'RS256'",
        ),
        (_entry(algorithms=["none"]), "issuers[0].algorithms[0]"),
        (_entry(kind="robot"), "issuers[0].kind: Input should be 'resident', 'business'"),
        (_entry(audience=None), "issuers[0].audience: Field required"),
        (_entry(max_age=5), "issuers[0].max_age: Extra inputs are not permitted"),
        (_entry(issuer="http://eid.example.test"), "issuers[0].issuer: String should match"),
        (_entry(jwks_url=None), "issuers[0]: give exactly one of 'keys', 'jwks_file', 'jwks_url'"),
        (_entry(jwks_url="http://eid.example.test/jwks"), "issuers[0]: jwks_url must be https://"),
        (_entry(acr_levels={"urn:x": "very-high"}), "issuers[0].acr_levels.urn:x"),
        (_entry(one_time="yes"), "issuers[0].one_time: Input should be a valid boolean"),
        (_entry(jwks_url=None, jwks_file="missing.json"), "issuers[0].jwks_file: cannot read"),
        (
            _entry(jwks_url=None, keys={"k1": {**_key(), "d": "secret-material"}}),
            "issuers[0]: a trusted key must be public",
        ),
    ],
)
def test_each_bad_entry_is_named_with_its_key(tmp_path, entry, expected):
    problems = _problems(tmp_path, {"issuers": [entry]})
    assert any(p.startswith(expected) for p in problems), problems
    assert not any("secret-material" in p for p in problems)


def test_every_problem_is_reported_at_once(tmp_path):
    problems = _problems(
        tmp_path,
        {
            "issuers": [
                _entry(leeway_seconds=90),
                _entry(),
                _entry(),  # the same issuer again
                "not an object",
            ],
            "extra": 1,
        },
    )
    assert problems == [
        "extra: unknown key (only 'issuers')",
        "issuers[0].leeway_seconds: Input should be less than or equal to 60",
        "issuers[2].issuer: the same issuer as issuers[1]",
        "issuers[3]: must be an object",
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON (line 1)"),
        ("[]", 'the file must hold an object {"issuers": [...]}'),
        ('{"issuers": {}}', "issuers: must be a list"),
        (b"\xff\xfe", "not UTF-8 text"),
    ],
)
def test_an_unusable_file_is_explained(tmp_path, content, expected):
    path = tmp_path / "issuers.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(IssuerConfigError) as info:
        load_trusted_issuers(path)
    assert info.value.problems == [expected]


def test_a_missing_file_and_a_jwks_file_without_usable_keys(tmp_path):
    with pytest.raises(IssuerConfigError, match="cannot read the file"):
        load_trusted_issuers(tmp_path / "nope.json")
    (tmp_path / "rsa-only.json").write_text(json.dumps({"keys": [_key()]}))
    problems = _problems(
        tmp_path,
        {"issuers": [_entry(jwks_url=None, jwks_file="rsa-only.json", algorithms=["RS256"])]},
    )
    assert problems == ["issuers[0].jwks_file: no key usable with ['RS256']"]
