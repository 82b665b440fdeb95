"""Hot reload: noticing that catalogue files changed and swapping new contents in whole.

A worker or web process keeps serving while a municipality edits its catalogue. This
module exists for the two decisions that takes, apart from loading itself: *when* to
read again (a fingerprint of every file's path, modification time and size) and *how*
to swap (one assignment of a new immutable :class:`~forms.loading.CatalogState`, so a
reader sees either the old contents or the new, never a mix).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from forms.loading import CatalogState, build_state

__all__ = ["Fingerprint", "LiveState", "fingerprint"]

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(roots: Iterable[Path]) -> Fingerprint:
    """``(path, mtime_ns, size)`` of every file under ``roots`` (hidden ones left out)."""
    entries = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            if path.is_file() and not any(part.startswith(".") for part in path.parts[-3:]):
                stat = path.stat()
                entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(entries))


class LiveState:
    """The current :class:`CatalogState` of some roots, rebuilt when asked or changed.

    :param roots: the catalogue directories (none: a fixed state that never reloads).
    :param state: the state to start from (default: built from ``roots`` by
        :meth:`reload`, which the owner calls).
    """

    def __init__(self, roots: tuple[Path, ...], state: CatalogState) -> None:
        self.roots = roots
        self.state = state
        self._fingerprint: Fingerprint = ()

    def reload(self) -> CatalogState:
        """Read the roots again and swap the new state in; returns it.

        :raises RuntimeError: for a state that was not loaded from directories.
        """
        if not self.roots:
            raise RuntimeError("this catalogue was not loaded from directories")
        current = fingerprint(self.roots)
        self.state = build_state(self.roots, self.state)
        self._fingerprint = current
        return self.state

    def refresh_if_changed(self) -> bool:
        """Reload if a file under the roots changed since the last load; True if it did."""
        if not self.roots or fingerprint(self.roots) == self._fingerprint:
            return False
        self.reload()
        return True
