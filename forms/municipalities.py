"""The municipalities an installation serves, and the disaster events each declares.

Each municipality keeps its own data in its own folder of a catalogue root, so its staff
edit it without touching anyone else's::

    <catalog root>/municipalities/<code>/
        municipality.json       {"code", "name": {"ja", "en"}, "prefecture", "mayor", "contact",
                                 "seal_image": "seal.png"}
        seal.png                the printed 公印 (optional)
        disaster-events.json    {"disaster_events": [{"id", "name", "date", "area"}, ...]}
        overlays/<procedure-id>.json   local variants of standard procedures (forms.overlay)

The packaged catalogue (``forms/catalog``) holds the defaults; a configured catalogue
directory (``MADOGUCHI_CATALOG_DIR``) is read after it and wins per file: its
``municipality.json`` replaces the packaged one, its ``disaster-events.json`` replaces the
packaged list. Codes are checked with the 地方公共団体コード check digit, so a mistyped code
fails at load, not in a running case.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from forms.checkdigits import is_valid_municipality_code
from forms.definition import LocalizedText
from forms.pointers import to_pointer

__all__ = [
    "DEFAULT_ROOT",
    "MUNICIPALITIES_DIR",
    "Contact",
    "DisasterEvent",
    "Municipality",
    "Officeholder",
    "load_municipalities",
    "read_municipalities",
]

DEFAULT_ROOT = Path(__file__).with_name("catalog")
#: The folder of a catalogue root that holds one folder per municipality code.
MUNICIPALITIES_DIR = "municipalities"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DisasterEvent(_Strict):
    """A disaster the municipality has declared, which applications may refer to."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: LocalizedText
    date: dt.date = Field(strict=False)  # an ISO string in the JSON file
    area: str | None = None


class Contact(_Strict):
    """Where a resident asks (問い合わせ先): shown on pages, notices and documents. The
    municipality's default is in ``municipality.json``; a procedure's own department is
    the ``contact`` of the municipality's overlay of it (forms.overlay)."""

    id: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,39}$",
                           description="The department's id, e.g. hoken-nenkin: the caseworker "
                           "queue's department filter (several procedures may share one)")
    department: LocalizedText = Field(description="担当課, e.g. 防災課")
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9-]{5,20}$",
                              description="e.g. 03-3264-2111")
    hours: LocalizedText | None = Field(default=None, description="受付時間, e.g. 平日 8:30～17:15")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    url: str | None = Field(default=None, pattern=r"^https://")


class HasContact(Protocol):
    """An effective procedure (forms.packages.Procedure): its overlay may name a contact."""

    contact: Contact | None


class Officeholder(_Strict):
    """Who issues in the municipality's name (市長・区長): title and name as printed."""

    title: LocalizedText = Field(description="e.g. 千代田区長 / Mayor of Chiyoda City")
    name: LocalizedText


class Municipality(_Strict):
    """A municipality (市区町村) using the engine."""

    code: str = Field(description="6-digit 地方公共団体コード including the check digit")
    name: LocalizedText
    prefecture: str = Field(min_length=1)
    disaster_events: list[DisasterEvent] = Field(default_factory=list)
    mayor: Officeholder | None = None
    contact: Contact | None = Field(default=None, description="The default contact")
    seal_image: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*\.png$", max_length=64,
        description="The printed 公印 image: a PNG file name in the municipality's own folder "
        "(no directories: it cannot point elsewhere)")

    @field_validator("code")
    @classmethod
    def _code_has_valid_check_digit(cls, code: str) -> str:
        if not is_valid_municipality_code(code):
            raise ValueError(
                f"{code!r} is not a 6-digit 地方公共団体コード with a valid check digit"
            )
        return code

    @field_validator("disaster_events")
    @classmethod
    def _event_ids_unique(cls, events: list[DisasterEvent]) -> list[DisasterEvent]:
        ids = [e.id for e in events]
        if len(set(ids)) != len(ids):
            raise ValueError("disaster event ids must be unique within a municipality")
        return events

    def disaster_event(self, event_id: str) -> DisasterEvent | None:
        """The declared event with this id, or ``None``."""
        return next((e for e in self.disaster_events if e.id == event_id), None)

    def contact_for(self, procedure: HasContact | None = None) -> Contact | None:
        """Whom a resident asks: the procedure's department (its overlay's ``contact``,
        ``procedure`` being the effective procedure) else the municipality's default."""
        own = getattr(procedure, "contact", None)
        return own if own is not None else self.contact


_MunicipalityList = TypeAdapter(list[Municipality])

#: ``(file relative to its root, JSON pointer, message)``
Problem = tuple[str, str, str]


def _read(path: Path, label: str, problems: list[Problem]) -> object | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append((label, "", f"cannot read file: {exc}"))
    except json.JSONDecodeError as exc:
        problems.append((label, "", f"invalid JSON: {exc.msg} (line {exc.lineno})"))
    return None


def read_municipalities(
    roots: Sequence[Path] | None = None,
) -> tuple[dict[str, Municipality], list[Problem]]:
    """The municipalities of the catalogue ``roots`` (later roots win per file).

    Never raises for bad data: a municipality whose files are wrong is left out, and every
    problem is returned as ``(file, pointer, message)`` with ``file`` relative to its root
    (``municipalities/131016/disaster-events.json``).
    """
    roots = [DEFAULT_ROOT] if roots is None else list(roots)
    problems: list[Problem] = []
    raw_by_code: dict[str, dict[str, tuple[str, object]]] = {}
    for root in roots:
        base = root / MUNICIPALITIES_DIR
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            if folder.name.startswith((".", "_")):
                continue
            for name in ("municipality.json", "disaster-events.json"):
                path = folder / name
                if path.is_file():
                    label = f"{MUNICIPALITIES_DIR}/{folder.name}/{name}"
                    raw_by_code.setdefault(folder.name, {})[name] = (
                        label,
                        _read(path, label, problems),
                    )
    result: dict[str, Municipality] = {}
    for code, files in sorted(raw_by_code.items()):
        municipality = _assemble(code, files, problems)
        if municipality is not None:
            result[code] = municipality
    return result, problems


def _assemble(
    code: str, files: dict[str, tuple[str, object]], problems: list[Problem]
) -> Municipality | None:
    if "municipality.json" not in files:
        label = files["disaster-events.json"][0]
        problems.append((label, "", f"no municipality.json for {code} in any catalogue"))
        return None
    label, info = files["municipality.json"]
    if info is None:
        return None
    if not isinstance(info, dict):
        problems.append((label, "", "must hold a JSON object"))
        return None
    if info.get("code", code) != code:
        problems.append((label, "/code", f"must be the folder name {code!r}"))
        return None
    merged = {"code": code, **info}
    if "disaster-events.json" in files:
        events_label, events = files["disaster-events.json"]
        if events is None:
            return None
        if not isinstance(events, dict) or set(events) != {"disaster_events"}:
            problems.append((events_label, "", 'expected {"disaster_events": [...]}'))
            return None
        merged["disaster_events"] = events["disaster_events"]
    try:
        return Municipality.model_validate(merged)
    except ValidationError as exc:
        for error in exc.errors():
            loc = list(error["loc"])
            where = label
            if loc and loc[0] == "disaster_events" and "disaster-events.json" in files:
                where = files["disaster-events.json"][0]
            problems.append((where, to_pointer(loc), error["msg"]))
        return None


def load_municipalities(
    path: Path | None = None, *, roots: Sequence[Path] | None = None
) -> dict[str, Municipality]:
    """The municipalities, keyed by code.

    :param path: a single file ``{"municipalities": [...]}`` (the older format), read
        instead of folders.
    :param roots: catalogue roots to read ``municipalities/<code>/`` folders from, later
        ones winning; default the packaged catalogue.
    :raises FileNotFoundError: if ``path`` does not exist.
    :raises ValueError: listing every problem (bad JSON, model mismatch, a code listed
        twice, a wrong check digit).
    """
    if path is None:
        result, problems = read_municipalities(roots)
        if problems:
            raise ValueError(
                "\n".join(f"{f}#{p}: {m}" if p else f"{f}: {m}" for f, p, m in problems)
            )
        return result
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or set(raw) != {"municipalities"}:
        raise ValueError(f"{path}: expected an object with the single key 'municipalities'")
    try:
        items = _MunicipalityList.validate_python(raw["municipalities"])
    except ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    found: dict[str, Municipality] = {}
    for item in items:
        if item.code in found:
            raise ValueError(f"{path}: municipality {item.code} is listed twice")
        found[item.code] = item
    return found
