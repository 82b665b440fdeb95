"""What a production start needs, for tests: the installation's keys in the data
directory, a trusted-issuers file naming a real (non-development) issuer, and the
shared stores' URLs. Nothing here connects: settings are checked, not used."""

from __future__ import annotations

import json
import os
from pathlib import Path

from records.secretfile import read_or_create
from workflows.codec import KeyRing

ISSUER = {
    "issuer": "https://eid.example.test",
    "kind": "resident",
    "jwks_url": "https://eid.example.test/.well-known/jwks.json",
    "algorithms": ["ES256"],
    "audience": "madoguchi-131016",
    "max_age_seconds": 600,
    "leeway_seconds": 30,
}


def write_keys(data_dir: Path) -> None:
    keys = data_dir / "keys"
    read_or_create(keys / "payload-keys.json", lambda: KeyRing.generate().to_json())
    read_or_create(keys / "id-secret", lambda: os.urandom(32).hex())


def issuers_file(directory: Path, *entries: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "issuers.json"
    path.write_text(json.dumps({"issuers": list(entries or [ISSUER])}))
    return path


def production_env(data_dir: Path, *,
                   database_url: str = "postgresql+psycopg://madoguchi@db.internal/madoguchi",
                   rate_limit_storage: str = "redis://redis.internal:6379") -> dict[str, str]:
    """``MADOGUCHI_*`` of a production start that passes the settings check."""
    write_keys(data_dir)
    return {
        "MADOGUCHI_MODE": "production",
        "MADOGUCHI_DATA_DIR": str(data_dir),
        "MADOGUCHI_DATABASE_URL": database_url,
        "MADOGUCHI_RATE_LIMIT_STORAGE": rate_limit_storage,
        "MADOGUCHI_ISSUERS_FILE": str(issuers_file(data_dir / "config")),
    }
