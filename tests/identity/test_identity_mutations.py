"""Property: no byte-level mutation of a valid token is ever accepted."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from identity import DevIssuer, IdentityError, Resident, TokenVerifier

NOW = 1_900_000_000.0

# Characters a mutation may write: the base64url alphabet (the likeliest to get past
# parsing), the separator, padding, and a few others.
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \x00é漢"


@pytest.fixture(scope="module")
def signed() -> tuple[TokenVerifier, list[str]]:
    issuer = DevIssuer(ec.generate_private_key(ec.SECP256R1()), clock=lambda: NOW)
    verifier = TokenVerifier(issuer.trusted_issuers(), clock=lambda: NOW + 1)
    tokens = [
        issuer.issue_resident("r-1", "山田 太郎", address="東京都千代田区"),
        issuer.issue_caseworker("cw-1", ["131016"], ["approver"]),
        issuer.issue_business("b-1", "7000012050002", "国税庁"),
    ]
    for token in tokens:
        verifier.verify(token)  # each starts valid
    return verifier, tokens


_mutation = st.tuples(
    st.sampled_from(["replace", "insert", "delete"]),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(_ALPHABET),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 2), mutations=st.lists(_mutation, min_size=1, max_size=3))
def test_no_mutated_token_is_accepted(signed, which, mutations):
    verifier, tokens = signed
    original = tokens[which]
    token = original
    for kind, position, char in mutations:
        position %= len(token) + (1 if kind == "insert" else 0)
        if kind == "replace":
            token = token[:position] + char + token[position + 1 :]
        elif kind == "insert":
            token = token[:position] + char + token[position:]
        else:
            token = token[:position] + token[position + 1 :]
    assume(token != original)
    with pytest.raises(IdentityError):
        verifier.verify(token)


def test_the_unmutated_tokens_verify(signed):
    verifier, tokens = signed
    assert isinstance(verifier.verify(tokens[0]), Resident)
    assert time.time() < NOW  # the fixed clock is not the wall clock
