"""The data directory: what madoguchi keeps on disk, created on first start.

```
var/
  temporal.db          Temporal dev server (cases, their histories)
  madoguchi.db         read models (inbox, register of issued documents)
  blobs/               issued PDFs (and later attachments)
  keys/                payload keys, the id secret, the development issuer's key
  logs/                the Temporal dev server's log
```

Everything in it is the owner's only: the PDFs carry names and addresses, the databases
whole cases. :meth:`DataDir.ensure` makes the directory and its folders 0700 (tightening
ones that exist) and sets the process's umask to 077, so every file created afterwards —
by this process and by the children it starts (the Temporal dev server and its SQLite
files, logs) — is 0600. The stores also create their files 0600 themselves
(:mod:`records.blobs`, :mod:`records.db`, :mod:`records.secretfile`), so a process that
never called :meth:`~DataDir.ensure` does not loosen them.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from records.secretfile import read_or_create
from workflows.codec import KeyRing

#: Files and folders created after :meth:`DataDir.ensure` are the owner's only.
OWNER_ONLY_UMASK = 0o077


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
        """Create the directory and its folders, owner-only (0700), and restrict this
        process's umask to 077 (see the module's docstring)."""
        os.umask(OWNER_ONLY_UMASK)
        for folder in (self.root, self.blobs, self.logs, self.keys):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            mode = stat.S_IMODE(folder.stat().st_mode)
            if mode & 0o077:
                os.chmod(folder, mode & 0o700)

    def payload_keys(self) -> KeyRing:
        return KeyRing.load_or_create(self.keys / "payload-keys.json")

    def id_secret(self) -> bytes:
        """The HMAC secret behind application ids and applicant keys (never leaves the host)."""
        text = read_or_create(self.keys / "id-secret", lambda: secrets.token_hex(32))
        return bytes.fromhex(text.strip())
