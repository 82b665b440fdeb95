"""S3BlobStore against a real S3 server (moto, loopback): the LocalBlobStore contract."""

from __future__ import annotations

import threading

import pytest

from madoguchi.runtime import blob_store_from_settings
from madoguchi.settings import Settings, SettingsError
from madoguchi.up import free_port
from records.blobs import BlobError, BlobNotFound, BlobStore, InvalidBlobKey, LocalBlobStore
from records.s3blobs import S3BlobStore, S3StoreError, S3Unavailable

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
KEY = "documents/ab/abcdef0123.pdf"


@pytest.fixture
def store(s3_server) -> S3BlobStore:
    return S3BlobStore.connect(
        s3_server.new_bucket(),
        endpoint_url=s3_server.endpoint_url,
        credentials=(s3_server.access_key_id, s3_server.secret_access_key),
    )


def test_is_a_blob_store_and_round_trips(store, s3_server):
    assert isinstance(store, BlobStore)
    assert not store.exists(KEY)
    store.put(KEY, PDF)
    assert store.exists(KEY) and store.get(KEY) == PDF
    head = s3_server.client().head_object(Bucket=store.bucket, Key=KEY)
    assert len(head["Metadata"]["sha256"]) == 64


def test_same_bytes_again_is_a_no_op_different_bytes_refused(store):
    store.put(KEY, PDF)
    store.put(KEY, PDF)  # an activity retried
    with pytest.raises(BlobError, match="never rewritten"):
        store.put(KEY, PDF + b"tampered")
    assert store.get(KEY) == PDF


def test_the_server_itself_refuses_the_overwrite(store, s3_server):
    """The guarantee is the conditional write, not our own check before writing."""
    store.put(KEY, PDF)
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        s3_server.client().put_object(Bucket=store.bucket, Key=KEY, Body=b"other", IfNoneMatch="*")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_racing_writers_one_wins_the_other_is_refused_or_a_no_op(store):
    results: list[object] = []

    def write(data: bytes) -> None:
        try:
            store.put("race/x.bin", data)
            results.append(data)
        except BlobError as exc:
            results.append(exc)

    threads = [threading.Thread(target=write, args=(bytes([i]) * 1000,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = store.get("race/x.bin")
    winners = [r for r in results if isinstance(r, bytes)]
    assert winners == [stored]
    assert sum(isinstance(r, BlobError) for r in results) == 5


def test_delete_removes_only_what_is_there(store):
    store.put(KEY, PDF)
    assert store.delete(KEY) is True
    assert not store.exists(KEY) and store.delete(KEY) is False
    store.put(KEY, PDF + b"new")  # a key freed by retention can be used again
    assert store.get(KEY) == PDF + b"new"


def test_missing_blob_and_invalid_keys(store):
    with pytest.raises(BlobNotFound) as missing:
        store.get("documents/none.pdf")
    assert isinstance(missing.value, KeyError)
    for key in ("../x", "/abs", "a//b", "書類/a.pdf", ""):
        for op in (lambda k: store.put(k, b"x"), store.get, store.exists):
            with pytest.raises(InvalidBlobKey):
                op(key)


def test_prefix_separates_installations_in_one_bucket(s3_server):
    bucket = s3_server.new_bucket()
    creds = (s3_server.access_key_id, s3_server.secret_access_key)
    tokyo = S3BlobStore.connect(
        bucket, endpoint_url=s3_server.endpoint_url, credentials=creds, prefix="tokyo"
    )
    osaka = S3BlobStore.connect(
        bucket, endpoint_url=s3_server.endpoint_url, credentials=creds, prefix="osaka/"
    )
    tokyo.put(KEY, PDF)
    assert tokyo.exists(KEY) and not osaka.exists(KEY)
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"tokyo/{KEY}"]
    with pytest.raises(InvalidBlobKey):
        S3BlobStore.connect(bucket, endpoint_url=s3_server.endpoint_url, prefix="../x")


def test_missing_bucket_is_a_permanent_error(s3_server):
    store = S3BlobStore.connect(
        "no-such-bucket",
        endpoint_url=s3_server.endpoint_url,
        credentials=(s3_server.access_key_id, "x"),
    )
    with pytest.raises(S3StoreError):
        store.check()
    with pytest.raises(S3StoreError):
        store.put(KEY, PDF)


def test_unreachable_endpoint_is_retryable_oserror():
    store = S3BlobStore.connect(
        "b", endpoint_url=f"http://127.0.0.1:{free_port()}", credentials=("a", "b"), timeout=2
    )
    with pytest.raises(S3Unavailable) as down:
        store.exists(KEY)
    assert isinstance(down.value, OSError)  # Temporal retries it, like a full disk


def test_store_from_settings_reads_credentials_from_files(s3_server, tmp_path):
    bucket = s3_server.new_bucket()
    key_file, secret_file = s3_server.credential_files(tmp_path / "secrets")
    settings = Settings(
        data_dir=tmp_path,
        blob_store="s3",
        s3_bucket=bucket,
        s3_endpoint_url=s3_server.endpoint_url,
        s3_prefix="131016",
        s3_access_key_id_file=key_file,
        s3_secret_access_key_file=secret_file,
    )
    store = blob_store_from_settings(settings, local_root=tmp_path / "blobs")
    assert isinstance(store, S3BlobStore)
    store.put(KEY, PDF)
    assert s3_server.client().get_object(Bucket=bucket, Key=f"131016/{KEY}")["Body"].read() == PDF
    assert not (tmp_path / "blobs").exists()

    local = blob_store_from_settings(Settings(data_dir=tmp_path), local_root=tmp_path / "b")
    assert isinstance(local, LocalBlobStore)

    secret_file.unlink()
    with pytest.raises(SettingsError, match="MADOGUCHI_S3_SECRET_ACCESS_KEY_FILE"):
        blob_store_from_settings(settings, local_root=tmp_path / "blobs")
