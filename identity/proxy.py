"""Proxy filing (代理申請): a signed-in resident files for another person.

The resident (the proxy, 代理人) stays the principal: their token says who they are. The
:class:`ProxyFiling` records whom they act for (本人: name, kana, date of birth) and how
they are related, so the case and the issued document can show "filed by a proxy"
with the relationship. The relationship is one of a fixed list (labels in Japanese and
English); ``other`` needs a short free text.

:class:`ProxyFiling` is a strict, frozen pydantic model with no clock inside (it may be
validated again inside workflow code, where reading the clock is not allowed);
:func:`parse_proxy_filing` is the entry point for data from a request: it also checks the
date of birth against today and reports every problem at once, localized, in the same
shape as form validation errors.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from forms.validation import FieldError

__all__ = [
    "RELATIONSHIP_LABELS",
    "ProxyFiling",
    "ProxyFilingInvalid",
    "Relationship",
    "parse_proxy_filing",
]

Relationship = Literal["spouse", "child", "parent", "relative", "guardian", "other"]

#: Label of each relationship of the proxy to the represented person.
RELATIONSHIP_LABELS: dict[str, dict[str, str]] = {
    "spouse": {"ja": "配偶者", "en": "Spouse"},
    "child": {"ja": "子", "en": "Child"},
    "parent": {"ja": "父母", "en": "Parent"},
    "relative": {"ja": "親族", "en": "Relative"},
    "guardian": {"ja": "成年後見人", "en": "Adult guardian"},
    "other": {"ja": "その他", "en": "Other"},
}

_TOKYO = ZoneInfo("Asia/Tokyo")
_EARLIEST_BIRTHDATE = date(1900, 1, 1)
# Full-width katakana (incl. ー and ・) and spaces, as forms' person-name kana.
_KANA = re.compile(r"[\u30A1-\u30FA\u30FC\u30FB\u3000 ]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    # Strict models refuse strings for dates; JSON has no date type. Take YYYY-MM-DD only.
    if isinstance(value, str):
        if not _ISO_DATE.fullmatch(value):
            raise ValueError("not a date in YYYY-MM-DD form")
        return date.fromisoformat(value)
    return value


_Name = Annotated[str, Field(min_length=1, max_length=100)]


class ProxyFiling(BaseModel):
    """Whom a proxy files for, and how they are related.

    :param name: the represented person's name (氏名), e.g. ``"山田 トメ"``.
    :param name_kana: its reading in full-width katakana (フリガナ).
    :param birthdate: the represented person's date of birth (生年月日).
    :param relationship: the proxy's relationship to them (see ``RELATIONSHIP_LABELS``).
    :param relationship_detail: required for ``other`` (e.g. ``"ケアマネージャー"``),
        not allowed otherwise.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    name: _Name
    name_kana: _Name
    birthdate: Annotated[date, BeforeValidator(_iso_date)]
    relationship: Relationship
    relationship_detail: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _check(self) -> ProxyFiling:
        if self.name != self.name.strip(" \u3000"):
            raise ValueError("name: leading or trailing spaces")
        if not _KANA.fullmatch(self.name_kana):
            raise ValueError("name_kana: full-width katakana only")
        if self.birthdate < _EARLIEST_BIRTHDATE:
            raise ValueError("birthdate: before 1900")
        if self.relationship == "other" and not (
            self.relationship_detail and self.relationship_detail.strip(" \u3000")
        ):
            raise ValueError("relationship_detail: required for 'other'")
        if self.relationship != "other" and self.relationship_detail is not None:
            raise ValueError("relationship_detail: only for 'other'")
        return self

    def relationship_label(self, lang: Literal["ja", "en"] = "ja") -> str:
        """The relationship as shown to people, e.g. ``"配偶者"`` or ``"その他（民生委員）"``."""
        label = RELATIONSHIP_LABELS[self.relationship][lang]
        if self.relationship == "other" and self.relationship_detail:
            return (
                f"{label}（{self.relationship_detail}）"
                if lang == "ja"
                else (f"{label} ({self.relationship_detail})")
            )
        return label

    def describe(self) -> dict[str, str]:
        """One line for the case view and the issued document, in both languages."""
        return {
            "ja": f"代理人による申請（本人との関係: {self.relationship_label('ja')}）",
            "en": f"Filed by a proxy (relationship: {self.relationship_label('en')})",
        }


class ProxyFilingInvalid(ValueError):
    """The proxy data has problems; ``errors`` lists each as a :class:`FieldError`."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the proxy filing")
        self.errors = errors


_FIELD_TITLES = {
    "name": {"ja": "本人の氏名", "en": "The represented person's name"},
    "name_kana": {"ja": "本人の氏名（フリガナ）", "en": "The represented person's name (kana)"},
    "birthdate": {"ja": "本人の生年月日", "en": "The represented person's date of birth"},
    "relationship": {"ja": "本人との関係", "en": "Relationship"},
    "relationship_detail": {
        "ja": "本人との関係（その他の内容）",
        "en": "Relationship (details for 'other')",
    },
}

_MESSAGES = {
    "required": ("{ja}を入力してください", "{en} is required"),
    "kana": ("{ja}は全角カタカナで入力してください", "{en} must be in full-width katakana"),
    "future": ("{ja}に未来の日付は指定できません", "{en} cannot be in the future"),
    "too_early": ("{ja}が正しくありません", "{en} is not a plausible date"),
    "choice": (
        "{ja}を選択肢から選んでください",
        "{en} must be one of: spouse, child, parent, relative, guardian, other",
    ),
    "not_allowed": (
        "{ja}は「その他」を選んだときだけ入力できます",
        "{en} is only for the relationship 'other'",
    ),
    "unknown": ("この項目は受け付けられません", "This field is not accepted"),
    "invalid": ("{ja}の書き方が正しくありません", "{en} is not in the expected format"),
}


def _field_error(field: str, code: str) -> FieldError:
    title = _FIELD_TITLES.get(field, {"ja": field, "en": field})
    ja, en = _MESSAGES[code]
    return FieldError(
        path=f"/{field}", code=code, message={"ja": ja.format(**title), "en": en.format(**title)}
    )


def _from_pydantic(exc: ValidationError) -> list[FieldError]:
    errors: list[FieldError] = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = error["loc"]
        kind = error["type"]
        if loc:
            field = str(loc[0])
            if kind == "missing" or (kind == "string_too_short"):
                code = "required"
            elif kind == "extra_forbidden":
                code = "unknown"
            elif kind == "literal_error":
                code = "choice"
            else:
                code = "invalid"
            errors.append(_field_error(field, code))
            continue
        # Model-level checks say "<field>: <what>".
        message = error["msg"].removeprefix("Value error, ")
        field, _, what = message.partition(":")
        what = what.strip()
        code = {
            "full-width katakana only": "kana",
            "before 1900": "too_early",
            "required for 'other'": "required",
            "only for 'other'": "not_allowed",
        }.get(what, "invalid")
        errors.append(_field_error(field, code))
    return errors


def parse_proxy_filing(data: object, *, today: date | None = None) -> ProxyFiling:
    """Validate proxy data from a request.

    :param data: the JSON object sent by the proxy.
    :param today: the date in Japan (default: now, Asia/Tokyo); a birthdate after it is
        refused.
    :raises ProxyFilingInvalid: listing every problem, localized (ja/en) per field.
    """
    if not isinstance(data, dict):
        raise ProxyFilingInvalid(
            [
                FieldError(
                    path="",
                    code="type",
                    message={
                        "ja": "代理申請の内容が正しくありません",
                        "en": "The proxy filing must be an object",
                    },
                )
            ]
        )
    try:
        filing = ProxyFiling.model_validate(data)
    except ValidationError as exc:
        raise ProxyFilingInvalid(_from_pydantic(exc)) from None
    today = today or datetime.now(_TOKYO).date()
    if filing.birthdate > today:
        raise ProxyFilingInvalid([_field_error("birthdate", "future")])
    return filing
