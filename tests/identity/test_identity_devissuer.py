"""DevIssuer: its key file, its tokens, and what the server trusts from it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from identity import (
    DEV_AUDIENCE,
    DEV_BUSINESS_ISSUER,
    DEV_RESIDENT_ISSUER,
    DEV_STAFF_ISSUER,
    Caseworker,
    DevIssuer,
    IdentityError,
    Resident,
    TokenExpired,
    TokenNotYetValid,
    TokenVerifier,
)
from identity.devissuer import KEY_FILE_NAME, _write_new_key_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_file_is_created_once_with_mode_0600_and_reused(tmp_path):
    keys_dir = tmp_path / "var" / "keys"
    first = DevIssuer.load_or_create(keys_dir)
    path = keys_dir / KEY_FILE_NAME
    assert _mode(path) == 0o600
    assert _mode(keys_dir) == 0o700
    content = path.read_bytes()
    mtime = path.stat().st_mtime_ns

    second = DevIssuer.load_or_create(keys_dir)
    assert second.kid == first.kid
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == mtime
    assert [p.name for p in keys_dir.iterdir()] == [KEY_FILE_NAME]  # no temporary files left
    # A token from the first instance verifies with what the second one trusts.
    token = first.issue_resident("sub-1", "山田 太郎")
    assert TokenVerifier(second.trusted_issuers()).verify(token).subject == "sub-1"


def test_key_file_holds_a_p256_private_jwk_and_kid_is_its_rfc7638_thumbprint(tmp_path):
    issuer = DevIssuer.load_or_create(tmp_path)
    jwk = json.loads((tmp_path / KEY_FILE_NAME).read_text())
    assert (jwk["kty"], jwk["crv"]) == ("EC", "P-256")
    assert len(base64.urlsafe_b64decode(jwk["d"] + "=")) == 32
    # RFC 7638 §3: required members only, lexicographic order, no whitespace.
    canonical = f'{{"crv":"P-256","kty":"EC","x":"{jwk["x"]}","y":"{jwk["y"]}"}}'
    digest = hashlib.sha256(canonical.encode()).digest()
    assert issuer.kid == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    DevIssuer.load_or_create(tmp_path)
    os.chmod(tmp_path / KEY_FILE_NAME, 0o644)
    with pytest.raises(PermissionError):
        DevIssuer.load_or_create(tmp_path)


def test_a_corrupt_key_file_is_refused(tmp_path):
    path = tmp_path / KEY_FILE_NAME
    path.write_text('{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}')
    os.chmod(path, 0o600)
    with pytest.raises(ValueError):
        DevIssuer.load_or_create(tmp_path)


def test_the_atomic_write_never_replaces_an_existing_key(tmp_path):
    path = tmp_path / KEY_FILE_NAME
    assert _write_new_key_file(path, b"first") is True
    assert _write_new_key_file(path, b"second") is False
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE_NAME]


def test_concurrent_first_use_agrees_on_one_key(tmp_path):
    kids: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        kids.append(DevIssuer.load_or_create(tmp_path).kid)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kids) == 8 and len(set(kids)) == 1


def test_trusted_issuers_hold_public_keys_only(tmp_path):
    issuer = DevIssuer.load_or_create(tmp_path)
    trusted = issuer.trusted_issuers()
    assert [(t.issuer, t.kind) for t in trusted] == [
        (DEV_RESIDENT_ISSUER, "resident"),
        (DEV_BUSINESS_ISSUER, "business"),
        (DEV_STAFF_ISSUER, "caseworker"),
    ]
    for t in trusted:
        assert t.audience == DEV_AUDIENCE
        assert t.algorithms == ("ES256",)
        assert list(t.keys) == [issuer.kid]
        assert "d" not in t.keys[issuer.kid]


def test_resident_round_trip(tmp_path):
    issuer = DevIssuer.load_or_create(tmp_path)
    token = issuer.issue_resident(
        "resident-7",
        "鈴木 一郎",
        name_kana="スズキ イチロウ",
        address="東京都千代田区千代田1-1",
        birthdate=date(1990, 12, 31),
        gender="male",
    )
    principal = TokenVerifier(issuer.trusted_issuers()).verify(token)
    assert principal == Resident(
        issuer=DEV_RESIDENT_ISSUER,
        subject="resident-7",
        name="鈴木 一郎",
        name_kana="スズキ イチロウ",
        address="東京都千代田区千代田1-1",
        birthdate=date(1990, 12, 31),
        gender="male",
        assurance="urn:madoguchi:acr:dev-card",
        assurance_level="high",
    )


def test_caseworker_round_trip(tmp_path):
    issuer = DevIssuer.load_or_create(tmp_path)
    token = issuer.issue_caseworker("cw-1", ["131016"], ["surveyor"], name="佐藤")
    principal = TokenVerifier(issuer.trusted_issuers()).verify(token)
    assert principal == Caseworker(
        issuer=DEV_STAFF_ISSUER,
        subject="cw-1",
        name="佐藤",
        municipalities=frozenset({"131016"}),
        roles=frozenset({"surveyor"}),
    )


def test_dev_tokens_expire_by_ttl(tmp_path):
    now = 1_900_000_000.0
    issuer = DevIssuer.load_or_create(tmp_path, clock=lambda: now)
    token = issuer.issue_resident("r", "名前", ttl=timedelta(minutes=5))
    trusted = issuer.trusted_issuers()
    assert TokenVerifier(trusted, clock=lambda: now + 299).verify(token).subject == "r"
    with pytest.raises(IdentityError) as info:
        TokenVerifier(trusted, clock=lambda: now + 300 + 30).verify(token)
    assert type(info.value) is TokenExpired
    with pytest.raises(IdentityError) as info:
        TokenVerifier(trusted, clock=lambda: now - 31).verify(token)
    assert type(info.value) is TokenNotYetValid


def test_invalid_issue_arguments_are_refused(tmp_path):
    issuer = DevIssuer.load_or_create(tmp_path)
    with pytest.raises(ValueError):
        issuer.issue_resident("r", "名前", ttl=timedelta(0))
    with pytest.raises(ValueError):
        issuer.issue_caseworker("c", "131016", ["surveyor"])
