"""LocalBlobStore: key rules, idempotent atomic puts, evidence never overwritten."""

from __future__ import annotations

import os
import threading

import pytest

from records.blobs import (
    BlobError,
    BlobNotFound,
    BlobStore,
    InvalidBlobKey,
    LocalBlobStore,
    validate_key,
)

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
KEY = "documents/ab/abcdef0123.pdf"


@pytest.fixture
def store(tmp_path):
    return LocalBlobStore(tmp_path / "blobs")


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "/abs",
        "a//b",
        "a/../b",
        "",
        "a\\b",
        "a\x00b",
        ".",
        "a/./b",
        "a/",
        "a b",
        "書類/a.pdf",
        "a" * 201,
        "a/" * 600 + "b",
    ],
)
def test_invalid_keys_are_refused_by_every_operation(store, key, tmp_path):
    with pytest.raises(InvalidBlobKey):
        store.put(key, b"x")
    with pytest.raises(InvalidBlobKey):
        store.get(key)
    with pytest.raises(InvalidBlobKey):
        store.exists(key)
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "blobs").exists()


def test_invalid_key_is_a_value_error_and_a_blob_error():
    with pytest.raises(ValueError):
        validate_key("../etc/passwd")
    with pytest.raises(BlobError):
        validate_key("../etc/passwd")


@pytest.mark.parametrize("key", ["a", "documents/ab/abcdef.pdf", "x/.hidden", "v1.2_a-b/..c"])
def test_valid_keys_are_accepted(key):
    assert validate_key(key) == key


def test_put_get_round_trip(store, tmp_path):
    assert isinstance(store, BlobStore)
    assert store.exists(KEY) is False
    store.put(KEY, PDF)
    assert store.exists(KEY) is True
    assert store.get(KEY) == PDF
    assert (tmp_path / "blobs" / "documents" / "ab" / "abcdef0123.pdf").read_bytes() == PDF


def test_put_same_bytes_twice_is_a_no_op(store, tmp_path):
    store.put(KEY, PDF)
    before = (tmp_path / "blobs" / KEY).stat()
    store.put(KEY, PDF)
    after = (tmp_path / "blobs" / KEY).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert store.get(KEY) == PDF


@pytest.mark.parametrize("other", [PDF[:-1] + b"X", PDF + b"more", b""])
def test_put_different_bytes_is_refused_and_keeps_the_original(store, other):
    store.put(KEY, PDF)
    with pytest.raises(BlobError, match="different bytes"):
        store.put(KEY, other)
    assert store.get(KEY) == PDF


def test_empty_blob_round_trip(store):
    store.put("empty", b"")
    assert store.exists("empty")
    assert store.get("empty") == b""


def test_get_missing_key_raises_blob_not_found(store):
    with pytest.raises(BlobNotFound) as excinfo:
        store.get(KEY)
    assert isinstance(excinfo.value, KeyError)
    assert excinfo.value.key == KEY
    assert str(excinfo.value) == f"no blob under key {KEY!r}"


def test_a_directory_of_blobs_is_not_a_blob(store):
    store.put("documents/ab/one.pdf", PDF)
    assert store.exists("documents/ab") is False
    with pytest.raises(BlobNotFound):
        store.get("documents/ab")
    with pytest.raises(BlobError):
        store.put("documents/ab", PDF)
    # ...and a blob cannot become a directory of blobs.
    with pytest.raises(BlobError):
        store.put("documents/ab/one.pdf/nested", PDF)
    assert store.get("documents/ab/one.pdf") == PDF


def test_failed_publish_leaves_no_blob_and_no_temporary_file(store, tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise OSError("simulated crash while publishing")

    monkeypatch.setattr(os, "link", crash)
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        store.put(KEY, PDF)
    monkeypatch.undo()

    assert store.exists(KEY) is False
    assert _files(tmp_path / "blobs") == []
    # The store still works afterwards.
    store.put(KEY, PDF)
    assert _files(tmp_path / "blobs") == [KEY]


def test_failed_write_leaves_no_blob_and_no_temporary_file(store, tmp_path, monkeypatch):
    def crash(fd):
        raise OSError("simulated disk failure")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="simulated disk failure"):
        store.put(KEY, PDF)
    monkeypatch.undo()
    assert store.exists(KEY) is False
    assert _files(tmp_path / "blobs") == []


def test_racing_writers_never_overwrite_each_other(store, tmp_path):
    # A timed-out activity may still be writing while its retry writes other bytes (a new
    # timestamp in the seal): exactly one version wins, the others are refused or no-ops.
    versions = [PDF + bytes([i]) for i in range(8)] * 2
    barrier = threading.Barrier(len(versions))
    outcomes: list[bytes | BlobError] = [b""] * len(versions)

    def write(i: int) -> None:
        barrier.wait()
        try:
            store.put(KEY, versions[i])
            outcomes[i] = versions[i]
        except BlobError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(versions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    stored = store.get(KEY)
    succeeded = [o for o in outcomes if isinstance(o, bytes)]
    assert succeeded and all(o == stored for o in succeeded)
    assert all(isinstance(o, BlobError) for o in outcomes if o != stored)
    assert _files(tmp_path / "blobs") == [KEY]
