"""Private files (keys, secrets) created once, atomically, readable by the owner only."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make_content: Callable[[], str]) -> str:
    """The file's text; on first use write ``make_content()`` with mode 0600.

    Two processes starting together agree on one content: the file appears whole (hard
    link of a finished temp file) and the loser of the race reads the winner's.
    """
    if path.exists():
        return path.read_text(encoding="utf-8")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(make_content())
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8")
