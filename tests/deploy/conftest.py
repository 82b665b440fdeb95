"""Fixtures of the deployment tests: a real S3-compatible server (moto) on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from madoguchi.up import free_port


@dataclass
class S3Server:
    endpoint_url: str
    access_key_id: str = "madoguchi-test"
    secret_access_key: str = "madoguchi-test-secret"

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="ap-northeast-1",
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def new_bucket(self) -> str:
        name = f"madoguchi-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        return name

    def credential_files(self, directory: Path) -> tuple[Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        key_id, secret = directory / "s3-access-key-id", directory / "s3-secret-access-key"
        key_id.write_text(self.access_key_id + "\n")
        secret.write_text(self.secret_access_key + "\n")
        return key_id, secret


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 in server mode: real HTTP on 127.0.0.1, session-wide."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield S3Server(f"http://127.0.0.1:{port}")
    server.stop()
