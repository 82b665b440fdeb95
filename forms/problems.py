"""Catalogue problems: where a file is wrong (file and JSON pointer), and reading files.

Every catalogue check reports into a :class:`ProblemLog`, so an author sees every problem
of a package at once, each as ``<package>/<path>#<pointer>: message``; loading one
package raises them together in a :class:`CatalogError`. This module exists so that the
package, schema, municipality and overlay checks share that vocabulary and the strict
JSON reading (duplicate keys refused) without importing one another.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from forms.pointers import to_pointer

__all__ = ["UNREADABLE", "CatalogError", "CatalogProblem", "ProblemLog"]


class CatalogProblem(BaseModel):
    """Something wrong in a catalogue file, located by a JSON pointer."""

    model_config = ConfigDict(frozen=True)

    file: str
    """``<package>/<path inside it>``, e.g. ``disaster-certificate/procedure.json``."""
    pointer: str
    """JSON pointer into that file (``""`` for the whole file)."""
    message: str

    def __str__(self) -> str:
        where = f"{self.file}#{self.pointer}" if self.pointer else self.file
        return f"{where}: {self.message}"


class CatalogError(Exception):
    """A package could not be loaded; :attr:`problems` lists every reason."""

    def __init__(self, problems: Iterable[CatalogProblem]):
        self.problems: list[CatalogProblem] = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class _DuplicateKey(ValueError):
    """A member name given twice in one JSON object (strict reading refuses the file)."""


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    # json.loads keeps the last of duplicated keys silently; in a catalogue file that hides
    # a mistake, so it is refused.
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"duplicate key {key!r}")
        result[key] = value
    return result


UNREADABLE = object()
"""What :meth:`ProblemLog.read_json` returns for a file it could not parse."""


class ProblemLog:
    """Collects problems of one package (or of the shared schemas)."""

    def __init__(self, directory: Path, label: str):
        self.directory = directory
        self.label = label
        self.items: list[CatalogProblem] = []

    def add(self, relative: str, pointer: str, message: str) -> None:
        self.items.append(
            CatalogProblem(file=f"{self.label}/{relative}", pointer=pointer, message=message)
        )

    def path(self, relative: str, origin: tuple[str, str]) -> Path | None:
        """``relative`` inside the package, or ``None`` (with a problem at ``origin``)."""
        pure = PurePosixPath(relative)
        if not relative or pure.is_absolute() or ".." in pure.parts or "\\" in relative:
            self.add(*origin, f"{relative!r} must be a relative path inside the package")
            return None
        return self.directory.joinpath(*pure.parts)

    def read_json(self, relative: str, origin: tuple[str, str] | None = None) -> object:
        """The parsed file, or ``UNREADABLE`` after recording why."""
        path = self.path(relative, origin or (relative, ""))
        if path is None:
            return UNREADABLE
        if not path.is_file():
            if origin is None:
                self.add(relative, "", "file is missing")
            else:
                self.add(*origin, f"names {relative!r}, which does not exist")
            return UNREADABLE
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.add(relative, "", f"cannot read file: {exc}")
            return UNREADABLE
        try:
            return json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            self.add(
                relative, "", f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            )
        except _DuplicateKey as exc:
            self.add(relative, "", f"invalid JSON: {exc}")
        return UNREADABLE

    def model_errors(self, relative: str, exc: PydanticValidationError, prefix: str = "") -> None:
        """Record a model's validation errors, each at its pointer (under ``prefix``);
        unknown keys are named as such."""
        for error in exc.errors():
            loc = list(error["loc"])
            if error["type"] == "extra_forbidden":
                message = f"unknown key {loc[-1]!r}"
            elif loc and loc[-1] == "[key]":
                loc.pop()
                message = f"invalid key: {error['msg']}"
            else:
                message = error["msg"]
            self.add(relative, prefix + to_pointer(loc), message)
