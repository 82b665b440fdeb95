"""The blob store: attachments and issued documents, kept out of Temporal history.

Workflow histories carry blob keys, never bytes. Blobs are evidence: once a key holds
bytes, it holds those bytes forever. Writing the same bytes again is a no-op (an activity
retried), writing different bytes is refused with :class:`BlobError`.

Keys are relative, ``/``-separated paths of segments drawn from ``[A-Za-z0-9._-]``, e.g.
``documents/ab/abcdef.pdf``; anything else (``..``, absolute paths, empty segments,
backslashes, NUL, ...) is refused with :class:`InvalidBlobKey`. The same rule holds for
every implementation, so a key that works locally works on S3-compatible storage.

Errors::

    BlobError                 the store refuses the operation (I/O failures such as a
    │                         full disk stay OSError: they are worth retrying)
    ├── BlobNotFound          (also a KeyError) no blob under the key
    └── InvalidBlobKey        (also a ValueError) the key breaks the rules above
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "BlobError",
    "BlobNotFound",
    "BlobStore",
    "InvalidBlobKey",
    "LocalBlobStore",
    "validate_key",
]

#: Longest key accepted, in characters.
MAX_KEY_LENGTH = 1024
#: Longest segment accepted: file systems allow 255 bytes per name, and the local store
#: needs room for its temporary-file prefix and suffix.
MAX_SEGMENT_LENGTH = 200

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


class BlobError(Exception):
    """The blob store refused an operation; retrying it will not help."""


class BlobNotFound(BlobError, KeyError):
    """No blob is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:  # KeyError would quote the key: keep the message plain
        return f"no blob under key {self.key!r}"


class InvalidBlobKey(BlobError, ValueError):
    """The key is not a relative path of ``[A-Za-z0-9._-]`` segments."""


def validate_key(key: str) -> str:
    """Check a blob key against the rules every store shares.

    :returns: the key, unchanged.
    :raises InvalidBlobKey: if the key is empty, too long, absolute, has an empty, ``.``
        or ``..`` segment, or a character outside ``[A-Za-z0-9._-/]``.
    """
    if not isinstance(key, str) or not key:
        raise InvalidBlobKey(f"blob key must be a non-empty string: {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidBlobKey(f"blob key longer than {MAX_KEY_LENGTH} characters")
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise InvalidBlobKey(
                f"blob key {key!r}: segments are non-empty [A-Za-z0-9._-] separated by '/'"
            )
        if segment in (".", ".."):
            raise InvalidBlobKey(f"blob key {key!r}: '.' and '..' segments are refused")
        if len(segment) > MAX_SEGMENT_LENGTH:
            raise InvalidBlobKey(f"blob key {key!r}: segment longer than {MAX_SEGMENT_LENGTH}")
    return key


@runtime_checkable
class BlobStore(Protocol):
    """Where blobs live. Implementations: :class:`LocalBlobStore`; S3-compatible later."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, atomically; a no-op if the same bytes are there.

        :raises InvalidBlobKey: if the key breaks the key rules.
        :raises BlobError: if different bytes are already stored under the key.
        """
        ...

    def get(self, key: str) -> bytes:
        """Return the bytes under ``key``.

        :raises InvalidBlobKey: if the key breaks the key rules.
        :raises BlobNotFound: if nothing is stored under the key.
        """
        ...

    def exists(self, key: str) -> bool:
        """Tell whether a blob is stored under ``key``.

        :raises InvalidBlobKey: if the key breaks the key rules.
        """
        ...

    def delete(self, key: str) -> bool:
        """Remove the blob under ``key`` (retention ended); False if there was none.

        The only way a blob goes away: never to replace it, only when the law lets the
        municipality forget it.
        """
        ...


class LocalBlobStore:
    """Blobs as files under a directory (the development and single-host default).

    A blob appears under its key complete or not at all: bytes are written to a temporary
    file beside the target, flushed to disk, then published with a hard link, which fails
    if the key exists. So two writers racing on one key (a timed-out activity still running
    while its retry starts) cannot overwrite each other: the loser compares bytes and either
    succeeds as a no-op or gets :class:`BlobError`. Temporary names contain ``~``, which no
    key may contain, so no key can name one.

    The file system must support hard links (any local POSIX file system and NTFS do).
    """

    def __init__(self, root: Path) -> None:
        """:param root: the directory; created on the first :meth:`put` if missing."""
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``; see :meth:`BlobStore.put`."""
        path = self._path(key)
        data = bytes(data)
        if self._same_or_refuse(key, path, data):
            return
        try:
            _private_dirs(path.parent)
        except (FileExistsError, NotADirectoryError) as exc:
            raise BlobError(f"blob key {key!r}: a parent segment is a blob") from exc
        tmp = path.with_name(f".~{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            # Owner-only whatever the umask: documents carry names and addresses.
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
                           "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                # Another writer published first: same bytes is a no-op, else refused.
                self._same_or_refuse(key, path, data)
                return
            except IsADirectoryError as exc:
                raise BlobError(f"blob key {key!r} names a directory of other blobs") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        _fsync_directory(path.parent)

    def _same_or_refuse(self, key: str, path: Path, data: bytes) -> bool:
        """True if ``path`` holds ``data``; False if absent; BlobError if it differs."""
        if path.is_dir():
            raise BlobError(f"blob key {key!r} names a directory of other blobs")
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return True
        except (FileNotFoundError, NotADirectoryError):
            return False
        raise BlobError(
            f"blob key {key!r} already holds different bytes; blobs are never rewritten"
        )

    def get(self, key: str) -> bytes:
        """Return the bytes under ``key``; see :meth:`BlobStore.get`."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobNotFound(key) from None

    def exists(self, key: str) -> bool:
        """Tell whether a blob is stored under ``key``; see :meth:`BlobStore.exists`."""
        return self._path(key).is_file()

    def delete(self, key: str) -> bool:
        """Remove the blob under ``key``; see :meth:`BlobStore.delete`."""
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return False
        _fsync_directory(path.parent)
        return True


def _private_dirs(directory: Path) -> None:
    """``mkdir -p`` with every folder it creates 0700 (``Path.mkdir`` gives missing
    parents the umask's default mode)."""
    target, missing = directory, []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            if not folder.is_dir():
                raise
        else:
            os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    if not target.is_dir():
        raise NotADirectoryError(str(target))


def _fsync_directory(directory: Path) -> None:
    # Make the new directory entry durable too; a caller that returned success will not be
    # retried by Temporal. Not possible on Windows, where directories cannot be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
