"""TokenVerifier: round trips, and every refusal with its exact error class."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jose import jwe
from jose import jwt as jose_jwt
from jose.backends.cryptography_backend import CryptographyRSAKey

from identity import (
    AlgorithmNotAllowed,
    AudienceMismatch,
    Caseworker,
    ClaimInvalid,
    ClaimMissing,
    IdentityError,
    IssuerUnknown,
    KeyUnknown,
    Resident,
    SignatureInvalid,
    TokenExpired,
    TokenInvalid,
    TokenMalformed,
    TokenNotYetValid,
    TokenTooLarge,
    TokenVerifier,
    TrustedIssuer,
)


def refused(verifier: TokenVerifier, token: Any, expected: type[IdentityError]) -> IdentityError:
    """Verify ``token`` and insist on exactly ``expected`` (not a parent, not a sibling)."""
    with pytest.raises(IdentityError) as info:
        verifier.verify(token)
    assert type(info.value) is expected, f"{type(info.value).__name__}: {info.value}"
    return info.value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _one_mod_four(segment: str) -> str:
    """``segment`` lengthened to a length no base64 encoding has (1 mod 4)."""
    return segment + "A" * ((1 - len(segment)) % 4 or 4)


# -- round trips -------------------------------------------------------------------------


def test_baseline_token_verifies(issuers):
    # The refusal tests below start from this token and change one thing.
    principal = issuers.verifier().verify(issuers.sign(issuers.resident_claims()))
    assert principal == Resident(
        issuer=issuers.resident_issuer,
        subject="pseudonym-0001",
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        address="東京都千代田区千代田1-1",
        birthdate=date(1985, 4, 1),
        gender="female",
        assurance="urn:example:acr:card",
    )


def test_caseworker_round_trip(issuers):
    principal = issuers.verifier().verify(issuers.sign_staff(issuers.staff_claims()))
    assert isinstance(principal, Caseworker)
    assert principal.issuer == issuers.staff_issuer
    assert principal.subject == "staff-0042"
    assert principal.name == "佐藤 一郎"
    assert principal.municipalities == frozenset({"131016", "141003"})
    assert principal.roles == frozenset({"surveyor", "approver"})
    assert principal.can_act_for("131016")
    assert not principal.can_act_for("271004")


def test_resident_optional_claims_may_be_absent(issuers):
    claims = issuers.resident_claims(
        name=None, name_kana=None, address=None, birthdate=None, gender=None, nbf=None
    )
    principal = issuers.verifier().verify(issuers.sign(claims))
    assert isinstance(principal, Resident)
    assert (principal.name, principal.address, principal.birthdate) == (None, None, None)


def test_openid_address_object_is_accepted(issuers):
    claims = issuers.resident_claims(address={"formatted": "横浜市中区港町1-1"})
    principal = issuers.verifier().verify(issuers.sign(claims))
    assert principal.address == "横浜市中区港町1-1"


def test_audience_list_containing_ours_is_accepted(issuers):
    claims = issuers.resident_claims(aud=["another-service", issuers.audience])
    assert isinstance(issuers.verifier().verify(issuers.sign(claims)), Resident)


# -- algorithm and key confusion ---------------------------------------------------------


def test_alg_none_is_refused(issuers):
    token = issuers.raw_token(
        {"alg": "none", "kid": issuers.resident_kid}, issuers.resident_claims()
    )
    assert token.endswith(".")
    refused(issuers.verifier(), token, AlgorithmNotAllowed)


@pytest.mark.parametrize("alg", ["None", "NONE", "HS256", "HS512", "ES384", "RS512", ""])
def test_other_header_algorithms_are_refused(issuers, alg):
    token = issuers.raw_token({"alg": alg, "kid": issuers.resident_kid}, issuers.resident_claims())
    refused(issuers.verifier(), token, AlgorithmNotAllowed)


@pytest.mark.parametrize(
    "encoding", [serialization.Encoding.PEM, serialization.Encoding.DER], ids=["pem", "der"]
)
def test_hs256_signed_with_the_issuers_public_key_is_refused(issuers, encoding):
    public_bytes = issuers.resident_key.public_key().public_bytes(
        encoding, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = hs256(
        {"alg": "HS256", "typ": "JWT", "kid": issuers.resident_kid},
        issuers.resident_claims(),
        public_bytes,
    )
    if encoding is serialization.Encoding.DER:
        # The forgery is real: python-jose used naively (no algorithm list) accepts it.
        claims = jose_jwt.decode(token, public_bytes, algorithms=None, audience=issuers.audience)
        assert claims["sub"] == "pseudonym-0001"
    refused(issuers.verifier(), token, AlgorithmNotAllowed)


def test_other_p256_key_with_the_trusted_kid_is_refused(issuers):
    attacker = ec.generate_private_key(ec.SECP256R1())
    token = issuers.sign(issuers.resident_claims(), key=attacker, kid=issuers.resident_kid)
    refused(issuers.verifier(), token, SignatureInvalid)


def test_embedded_jwk_header_is_ignored(issuers):
    attacker = ec.generate_private_key(ec.SECP256R1())
    token = issuers.sign(
        issuers.resident_claims(),
        key=attacker,
        headers={"jwk": issuers.public_jwk(attacker), "jku": "https://evil.example/jwks"},
    )
    refused(issuers.verifier(), token, SignatureInvalid)


def test_unknown_kid_is_refused(issuers):
    token = issuers.sign(issuers.resident_claims(), kid="some-other-kid")
    refused(issuers.verifier(), token, KeyUnknown)


def test_missing_kid_is_refused(issuers):
    token = issuers.sign(issuers.resident_claims(), kid=None)
    refused(issuers.verifier(), token, KeyUnknown)


def test_one_issuers_key_cannot_mint_tokens_of_another(issuers):
    # A resident-eID key signing a staff token: the staff issuer does not know its kid.
    token = issuers.sign(issuers.staff_claims())
    refused(issuers.verifier(), token, KeyUnknown)


def test_tampered_payload_is_refused(issuers):
    header, _, signature = issuers.sign(issuers.resident_claims()).split(".")
    forged = issuers.b64url(json.dumps(issuers.resident_claims(sub="someone-else")).encode())
    refused(issuers.verifier(), f"{header}.{forged}.{signature}", SignatureInvalid)


def test_truncated_signature_is_refused(issuers):
    header, payload, _ = issuers.sign(issuers.resident_claims()).split(".")
    refused(issuers.verifier(), f"{header}.{payload}.{issuers.b64url(b'x' * 63)}", SignatureInvalid)


# -- time --------------------------------------------------------------------------------


def test_expired_token_is_refused(issuers):
    now = int(time.time())
    claims = issuers.resident_claims(iat=now - 700, nbf=now - 700, exp=now - 100)
    refused(issuers.verifier(), issuers.sign(claims), TokenExpired)


def test_nbf_in_the_future_is_refused(issuers):
    now = int(time.time())
    claims = issuers.resident_claims(nbf=now + 120)
    refused(issuers.verifier(), issuers.sign(claims), TokenNotYetValid)


def test_iat_in_the_future_is_refused(issuers):
    now = int(time.time())
    claims = issuers.resident_claims(iat=now + 120, nbf=None, exp=now + 600)
    refused(issuers.verifier(), issuers.sign(claims), TokenNotYetValid)


def test_iat_older_than_max_age_is_refused(issuers):
    now = int(time.time())
    iat = now - issuers.max_age - issuers.leeway - 60
    claims = issuers.resident_claims(iat=iat, nbf=iat, exp=now + 600)
    refused(issuers.verifier(), issuers.sign(claims), TokenExpired)


def test_leeway_boundaries_follow_the_verifiers_clock(issuers):
    now = 1_900_000_000  # 2030: far from the wall clock, so only the injected clock counts
    token = issuers.sign(issuers.resident_claims(now=now, iat=now, nbf=now, exp=now + 600))
    at = lambda t: issuers.verifier(clock=lambda: t)  # noqa: E731
    assert isinstance(at(now + 600 + issuers.leeway - 1).verify(token), Resident)
    refused(at(now + 600 + issuers.leeway), token, TokenExpired)
    assert isinstance(at(now - issuers.leeway).verify(token), Resident)
    refused(at(now - issuers.leeway - 1), token, TokenNotYetValid)
    # The wall clock (2020s) would call this token "not yet valid": it is not consulted.
    refused(issuers.verifier(), token, TokenNotYetValid)


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_missing_time_claim_is_refused(issuers, claim):
    error = refused(
        issuers.verifier(), issuers.sign(issuers.resident_claims(**{claim: None})), ClaimMissing
    )
    assert error.claim == claim


@pytest.mark.parametrize("value", ["9999999999", True, [1], 1e300, -5])
def test_exp_that_is_not_a_sane_number_is_refused(issuers, value):
    # python-jose's own check would take int("9999999999") and int(True).
    error = refused(
        issuers.verifier(), issuers.sign(issuers.resident_claims(exp=value)), ClaimInvalid
    )
    assert error.claim == "exp"


def test_exp_not_after_iat_is_refused(issuers):
    now = int(time.time())
    claims = issuers.resident_claims(iat=now, nbf=None, exp=now)
    refused(issuers.verifier(), issuers.sign(claims), ClaimInvalid)


# -- audience, issuer, subject -------------------------------------------------------------


def test_wrong_audience_is_refused(issuers):
    claims = issuers.resident_claims(aud="some-other-service")
    refused(issuers.verifier(), issuers.sign(claims), AudienceMismatch)


def test_missing_audience_is_refused(issuers):
    error = refused(
        issuers.verifier(), issuers.sign(issuers.resident_claims(aud=None)), ClaimMissing
    )
    assert error.claim == "aud"


def test_audience_of_wrong_type_is_refused(issuers):
    claims = issuers.resident_claims(aud={"aud": issuers.audience})
    refused(issuers.verifier(), issuers.sign(claims), ClaimInvalid)


def test_wrong_issuer_is_refused(issuers):
    claims = issuers.resident_claims(iss="https://eid.example.test/evil")
    refused(issuers.verifier(), issuers.sign(claims), IssuerUnknown)


def test_missing_issuer_is_refused(issuers):
    error = refused(
        issuers.verifier(), issuers.sign(issuers.resident_claims(iss=None)), ClaimMissing
    )
    assert error.claim == "iss"


def test_missing_subject_is_refused(issuers):
    error = refused(
        issuers.verifier(), issuers.sign(issuers.resident_claims(sub=None)), ClaimMissing
    )
    assert error.claim == "sub"


@pytest.mark.parametrize("sub", [12345, ""])
def test_invalid_subject_is_refused(issuers, sub):
    error = refused(
        issuers.verifier(), issuers.sign(issuers.resident_claims(sub=sub)), ClaimInvalid
    )
    assert error.claim == "sub"


def test_resident_without_acr_is_refused(issuers):
    error = refused(
        issuers.verifier(), issuers.sign(issuers.resident_claims(acr=None)), ClaimMissing
    )
    assert error.claim == "acr"


@pytest.mark.parametrize("birthdate", ["19850401", "1985-02-30", "1985-4-1"])
def test_resident_with_malformed_birthdate_is_refused(issuers, birthdate):
    claims = issuers.resident_claims(birthdate=birthdate)
    error = refused(issuers.verifier(), issuers.sign(claims), ClaimInvalid)
    assert error.claim == "birthdate"


# -- caseworker claims -----------------------------------------------------------------------


def test_caseworker_without_municipalities_is_refused(issuers):
    claims = issuers.staff_claims(municipalities=None)
    error = refused(issuers.verifier(), issuers.sign_staff(claims), ClaimMissing)
    assert error.claim == "municipalities"


def test_caseworker_without_roles_is_refused(issuers):
    claims = issuers.staff_claims(roles=None)
    error = refused(issuers.verifier(), issuers.sign_staff(claims), ClaimMissing)
    assert error.claim == "roles"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("municipalities", []),
        ("municipalities", "131016"),
        ("municipalities", ["13101"]),
        ("municipalities", ["１３１０１６"]),  # full-width digits
        ("municipalities", ["131016\n"]),
        ("municipalities", [131016]),
        ("roles", []),
        ("roles", ["has space"]),
        ("roles", [""]),
    ],
)
def test_caseworker_with_invalid_lists_is_refused(issuers, claim, value):
    claims = issuers.staff_claims(**{claim: value})
    error = refused(issuers.verifier(), issuers.sign_staff(claims), ClaimInvalid)
    assert error.claim == claim


# -- structure ---------------------------------------------------------------------------


def test_one_megabyte_token_is_refused_before_parsing(issuers):
    token = issuers.sign(issuers.resident_claims(padding="x" * (1024 * 1024)))
    refused(issuers.verifier(), token, TokenTooLarge)
    # Limit in bytes, not characters: 3000 kanji are 9000 UTF-8 bytes.
    refused(issuers.verifier(), "漢" * 3000, TokenTooLarge)


def test_token_just_under_the_limit_still_verifies(issuers):
    claims = issuers.resident_claims()
    base = len(issuers.sign({**claims, "padding": ""}))
    filler = "x" * ((8192 - base) * 3 // 4)
    token = issuers.sign({**claims, "padding": filler})
    assert len(token) <= 8192
    assert isinstance(issuers.verifier().verify(token), Resident)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h, p, s: f"{h}!.{p}.{s}",  # outside the base64url alphabet
        lambda h, p, s: f"{h}.{p}=.{s}",  # padding
        lambda h, p, s: f"{h}.+{p[1:]}.{s}",  # standard alphabet
        lambda h, p, s: f"{h}.{_one_mod_four(p)}.{s}",
        lambda h, p, s: f"{h}.{p}.",  # empty signature
    ],
    ids=["bad-char", "padding", "std-alphabet", "bad-length", "empty-signature"],
)
def test_malformed_base64_is_refused(issuers, mangle):
    h, p, s = issuers.sign(issuers.resident_claims()).split(".")
    refused(issuers.verifier(), mangle(h, p, s), TokenMalformed)


def test_non_canonical_base64_is_refused(issuers):
    h, p, s = issuers.sign(issuers.resident_claims()).split(".")
    # 64 signature bytes end in two unused bits; setting them decodes to the same bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(s[-1]) | 0b11]
    assert last != s[-1]
    refused(issuers.verifier(), f"{h}.{p}.{s[:-1]}{last}", TokenMalformed)


def test_jwe_is_refused(issuers):
    token = jwe.encrypt(b'{"sub": "x"}', b"k" * 32, algorithm="dir", encryption="A256GCM")
    token = token.decode() if isinstance(token, bytes) else token
    assert token.count(".") == 4
    error = refused(issuers.verifier(), token, TokenMalformed)
    assert "JWE" in str(error)


@pytest.mark.parametrize(
    "token",
    ["", ".", "..", "a.b", "a.b.c.d", "a.b.c.d.e.f", "eyJ9.e30.AAAA"],
)
def test_garbage_is_refused_as_malformed(issuers, token):
    refused(issuers.verifier(), token, TokenMalformed)


@pytest.mark.parametrize("token", [None, b"a.b.c", 42])
def test_non_string_token_is_refused(issuers, token):
    refused(issuers.verifier(), token, TokenMalformed)


def test_header_that_is_not_an_object_is_refused(issuers):
    h = issuers.b64url(b'["ES256"]')
    _, p, s = issuers.sign(issuers.resident_claims()).split(".")
    refused(issuers.verifier(), f"{h}.{p}.{s}", TokenMalformed)


def test_duplicate_claims_are_refused(issuers):
    # Signed correctly by the issuer, but "sub" appears twice: parsers disagree on which.
    claims = issuers.resident_claims()
    body = json.dumps(claims)[:-1] + ', "sub": "someone-else"}'
    header = issuers.b64url(json.dumps({"alg": "ES256", "kid": issuers.resident_kid}).encode())
    payload = issuers.b64url(body.encode())
    signing_input = f"{header}.{payload}".encode()
    der = issuers.resident_key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = issuers.b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    token = f"{header}.{payload}.{signature}"
    refused(issuers.verifier(), token, TokenMalformed)
    # Control: the same signing path without the duplicate verifies.
    body_ok = issuers.b64url(json.dumps(claims).encode())
    der = issuers.resident_key.sign(f"{header}.{body_ok}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    ok = f"{header}.{body_ok}.{issuers.b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    assert isinstance(issuers.verifier().verify(ok), Resident)


def test_nan_and_infinity_are_refused(issuers):
    h, _, s = issuers.sign(issuers.resident_claims()).split(".")
    body = json.dumps(issuers.resident_claims(exp=float("inf")))
    assert "Infinity" in body
    refused(issuers.verifier(), f"{h}.{issuers.b64url(body.encode())}.{s}", TokenMalformed)


def test_critical_header_extension_is_refused(issuers):
    token = issuers.sign(issuers.resident_claims(), headers={"crit": ["exp"], "exp": 1})
    refused(issuers.verifier(), token, TokenMalformed)


def test_unexpected_typ_is_refused(issuers):
    token = issuers.sign(issuers.resident_claims(), headers={"typ": "dpop+jwt"})
    refused(issuers.verifier(), token, TokenMalformed)


# -- RSA issuers (RS256, PS256) ------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _rsa_issuer(key: rsa.RSAPrivateKey, algorithms: tuple[str, ...]) -> TrustedIssuer:
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "n": _b64(numbers.n.to_bytes(256, "big")),
        "e": _b64(numbers.e.to_bytes(3, "big")),
    }
    return TrustedIssuer(
        issuer="https://rsa.example.test",
        kind="resident",
        audience="madoguchi-test",
        algorithms=algorithms,
        keys={"rsa-1": jwk},
        leeway_seconds=0,
        max_age_seconds=3600,
    )


def _rsa_token(key: rsa.RSAPrivateKey, alg: str, claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": alg, "kid": "rsa-1"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    if alg == "RS256":
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        signature = key.sign(signing_input, pss, hashes.SHA256())
    return f"{header}.{payload}.{_b64(signature)}"


def _rsa_claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "https://rsa.example.test",
        "aud": "madoguchi-test",
        "sub": "rsa-subject",
        "iat": now,
        "exp": now + 60,
        "acr": "urn:example:acr:card",
    }


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_rsa_round_trip(rsa_key, alg):
    verifier = TokenVerifier([_rsa_issuer(rsa_key, ("RS256", "PS256"))])
    principal = verifier.verify(_rsa_token(rsa_key, alg, _rsa_claims()))
    assert principal.subject == "rsa-subject"


def test_rs256_matches_python_jose_signing(rsa_key):
    # Our hand-made RS256 is the real thing: python-jose's own signer produces a token we accept.
    token = jose_jwt.encode(
        _rsa_claims(), CryptographyRSAKey(rsa_key, "RS256"), "RS256", headers={"kid": "rsa-1"}
    )
    assert TokenVerifier([_rsa_issuer(rsa_key, ("RS256",))]).verify(token).subject == "rsa-subject"


def test_alg_outside_the_issuers_list_is_refused(rsa_key):
    verifier = TokenVerifier([_rsa_issuer(rsa_key, ("RS256",))])
    refused(verifier, _rsa_token(rsa_key, "PS256", _rsa_claims()), AlgorithmNotAllowed)


def test_rs256_signature_under_a_ps256_header_is_refused(rsa_key):
    verifier = TokenVerifier([_rsa_issuer(rsa_key, ("RS256", "PS256"))])
    _, p, s = _rsa_token(rsa_key, "RS256", _rsa_claims()).split(".")
    h_ps = _rsa_token(rsa_key, "PS256", _rsa_claims()).split(".")[0]
    refused(verifier, f"{h_ps}.{p}.{s}", SignatureInvalid)


def test_es256_token_against_an_rsa_key_is_refused(issuers, rsa_key):
    # The issuer allows ES256 and RS256, but its one key is RSA: ES256 cannot use it.
    trusted = _rsa_issuer(rsa_key, ("ES256", "RS256"))
    token = issuers.sign(_rsa_claims(), kid="rsa-1")
    refused(TokenVerifier([trusted]), token, AlgorithmNotAllowed)


# -- errors at the border ------------------------------------------------------------------


def test_public_messages_leak_no_detail(issuers):
    error = refused(
        issuers.verifier(), issuers.sign(issuers.resident_claims(aud="x")), AudienceMismatch
    )
    assert error.code == "audience_mismatch"
    assert set(error.public_message) == {"ja", "en"}
    assert "aud" not in error.public_message["en"].lower()
    assert error.public_message == TokenInvalid().public_message
    assert TokenExpired().public_message != TokenInvalid().public_message


def test_error_details_carry_no_claim_values(issuers):
    claims = issuers.staff_claims(municipalities=["山田太郎の住所"])
    error = refused(issuers.verifier(), issuers.sign_staff(claims), ClaimInvalid)
    assert "山田" not in str(error)
    assert error.__cause__ is None


def test_duplicate_issuers_are_a_configuration_error(issuers):
    with pytest.raises(ValueError, match="twice"):
        TokenVerifier([issuers.resident, issuers.resident])


def test_unforeseen_failures_still_refuse_with_an_identity_error(issuers):
    def broken_clock() -> float:
        raise RuntimeError("clock unavailable")

    token = issuers.sign(issuers.resident_claims())
    error = refused(issuers.verifier(clock=broken_clock), token, TokenInvalid)
    assert isinstance(error.__cause__, RuntimeError)
