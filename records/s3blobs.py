"""Blobs on S3-compatible storage (AWS S3, MinIO, ...), same contract as the local store.

Never overwrite: a blob is written with ``If-None-Match: *``, so the storage itself refuses
a second write under a key (S3 since 2024, MinIO, moto). On refusal the stored bytes are
compared: the same bytes is a no-op (an activity retried), different bytes is
:class:`~records.blobs.BlobError`. Each blob carries its SHA-256 in metadata.

Errors the network or the server may fix (timeouts, 5xx, throttling) are raised as
``OSError`` (:class:`S3Unavailable`), like a full disk in the local store: worth retrying.
A refusal no retry fixes (no such bucket, access denied) is :class:`S3StoreError`.

boto3 is imported when a store is built, not at import time (it is the ``s3`` extra).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from records.blobs import BlobError, BlobNotFound, validate_key

__all__ = ["S3BlobStore", "S3StoreError", "S3Unavailable"]

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_PRECONDITION = {"412", "PreconditionFailed", "ConditionalRequestConflict", "409"}
_RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}


class S3StoreError(BlobError):
    """The storage refused the request for good (no bucket, access denied, ...)."""


class S3Unavailable(OSError):
    """The storage could not be reached or answered with a transient error: retry."""


class S3BlobStore:
    """Blobs as objects in one bucket, under an optional key prefix.

    :param bucket: the bucket; it must exist (create it with the storage's own tools).
    :param client: a boto3 S3 client; build one with :meth:`connect` or pass your own.
    :param prefix: prepended to every key (e.g. ``"tokyo-131016/"``), so installations
        can share a bucket.
    """

    def __init__(self, bucket: str, client: Any, *, prefix: str = "") -> None:
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if prefix:
            validate_key(prefix.rstrip("/"))
        self.bucket = bucket
        self.prefix = prefix
        self._s3 = client

    @classmethod
    def connect(
        cls,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "ap-northeast-1",
        credentials: tuple[str, str] | None = None,
        ca_file: Path | None = None,
        prefix: str = "",
        timeout: float = 30.0,
    ) -> S3BlobStore:
        """A store with its own boto3 client.

        :param endpoint_url: an S3-compatible endpoint (MinIO: ``https://minio:9000``);
            None for AWS.
        :param credentials: (access key id, secret access key); None uses the default
            AWS chain (instance role, ``AWS_*`` variables).
        :param ca_file: CA bundle for a private endpoint's certificate.
        """
        import boto3
        from botocore.config import Config

        config = Config(
            region_name=region,
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint_url else None,
            # S3-compatible servers differ in the newer checksum headers: send them
            # only when an operation requires them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        kwargs: dict[str, Any] = {"endpoint_url": endpoint_url, "config": config}
        if credentials:
            kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = credentials
        if ca_file:
            kwargs["verify"] = str(ca_file)
        return cls(bucket, boto3.client("s3", **kwargs), prefix=prefix)

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``; see :meth:`records.blobs.BlobStore.put`."""
        name = self._key(key)
        data = bytes(data)
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=name,
                Body=data,
                IfNoneMatch="*",
                ContentType="application/octet-stream",
                Metadata={"sha256": hashlib.sha256(data).hexdigest()},
            )
            return
        except Exception as exc:
            if _error_code(exc) not in _PRECONDITION:
                _raise_translated(exc, key)
                raise
        # Someone wrote first (a retry after a lost answer, or a racing attempt).
        if self.get(key) != data:
            raise BlobError(
                f"blob key {key!r} already holds different bytes; blobs are never rewritten"
            )

    def get(self, key: str) -> bytes:
        """Return the bytes under ``key``; see :meth:`records.blobs.BlobStore.get`."""
        name = self._key(key)
        try:
            reply = self._s3.get_object(Bucket=self.bucket, Key=name)
            return reply["Body"].read()
        except Exception as exc:
            if _error_code(exc) in _NOT_FOUND:
                raise BlobNotFound(key) from None
            _raise_translated(exc, key)
            raise

    def exists(self, key: str) -> bool:
        """Tell whether a blob is stored under ``key``; see :meth:`BlobStore.exists`."""
        name = self._key(key)
        try:
            self._s3.head_object(Bucket=self.bucket, Key=name)
            return True
        except Exception as exc:
            if _error_code(exc) in _NOT_FOUND:
                return False
            _raise_translated(exc, key)
            raise

    def delete(self, key: str) -> bool:
        """Remove the blob under ``key``; see :meth:`records.blobs.BlobStore.delete`.

        On a versioned bucket (object lock) this leaves a delete marker: older versions
        stay until the bucket's lifecycle rules expire them.
        """
        if not self.exists(key):
            return False
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            _raise_translated(exc, key)
            raise
        return True

    def check(self) -> None:
        """Fail at start, not mid-case, if the bucket is unreachable or refused.

        :raises S3StoreError: if the bucket does not exist or access is denied.
        :raises S3Unavailable: if the endpoint does not answer.
        """
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            _raise_translated(exc, f"bucket {self.bucket}")
            raise


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    if code:
        return str(code)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(status) if status else None


def _raise_translated(exc: Exception, what: str) -> None:
    """Raise botocore's errors as ours; return (the caller re-raises) for anything else."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = _error_code(exc)
        if status in _RETRYABLE_STATUS or code in {"SlowDown", "RequestTimeout"}:
            raise S3Unavailable(f"S3 storage answered {status} {code} for {what}") from exc
        raise S3StoreError(f"S3 storage refused {what}: {status} {code}") from exc
    if isinstance(exc, BotoCoreError):
        # Connection refused, DNS, timeouts: the network, not the request.
        raise S3Unavailable(f"S3 storage unreachable for {what}: {type(exc).__name__}") from exc
