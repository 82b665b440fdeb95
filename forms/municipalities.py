"""The municipalities an installation serves, and their declared disaster events.

Loaded from ``forms/municipalities.json`` by default; a deployment points
:func:`load_municipalities` at its own file. Codes are checked with the 地方公共団体コード
check digit, so a mistyped code fails at start-up, not in a running case.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from forms.checkdigits import is_valid_municipality_code
from forms.definition import LocalizedText

__all__ = ["DEFAULT_PATH", "DisasterEvent", "Municipality", "load_municipalities"]

DEFAULT_PATH = Path(__file__).with_name("municipalities.json")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DisasterEvent(_Strict):
    """A disaster the municipality has declared, which applications may refer to."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: LocalizedText
    date: dt.date = Field(strict=False)  # an ISO string in the JSON file
    area: str | None = None


class Municipality(_Strict):
    """A municipality (市区町村) using the engine."""

    code: str = Field(description="6-digit 地方公共団体コード including the check digit")
    name: LocalizedText
    prefecture: str = Field(min_length=1)
    disaster_events: list[DisasterEvent] = Field(default_factory=list)

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


_MunicipalityList = TypeAdapter(list[Municipality])


def load_municipalities(path: Path | None = None) -> dict[str, Municipality]:
    """Read the municipalities file: ``{"municipalities": [...]}``, keyed by code.

    :raises FileNotFoundError: if the file does not exist.
    :raises ValueError: if it is not valid JSON, does not match the model, or lists a
        code twice (pydantic's ``ValidationError`` is a ``ValueError``).
    """
    path = DEFAULT_PATH if path is None else path
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or set(raw) != {"municipalities"}:
        raise ValueError(f"{path}: expected an object with the single key 'municipalities'")
    try:
        items = _MunicipalityList.validate_python(raw["municipalities"])
    except ValidationError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    result: dict[str, Municipality] = {}
    for item in items:
        if item.code in result:
            raise ValueError(f"{path}: municipality {item.code} is listed twice")
        result[item.code] = item
    return result
