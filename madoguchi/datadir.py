"""The data directory: what madoguchi keeps on disk, created on first start.

```
var/
  temporal.db          Temporal dev server (cases, their histories)
  madoguchi.db         read models (inbox, register of issued documents)
  blobs/               issued PDFs (and later attachments)
  keys/                payload keys, the id secret, the development issuer's key
  logs/                the Temporal dev server's log
```
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from records.secretfile import read_or_create
from workflows.codec import KeyRing


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def temporal_db(self) -> Path:
        return self.root / "temporal.db"

    def ensure(self) -> None:
        for folder in (self.root, self.blobs, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        self.keys.mkdir(mode=0o700, parents=True, exist_ok=True)

    def payload_keys(self) -> KeyRing:
        return KeyRing.load_or_create(self.keys / "payload-keys.json")

    def id_secret(self) -> bytes:
        """The HMAC secret behind application ids and applicant keys (never leaves the host)."""
        text = read_or_create(self.keys / "id-secret", lambda: secrets.token_hex(32))
        return bytes.fromhex(text.strip())
