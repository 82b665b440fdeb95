"""Composing a notice's localized title and body from a procedure's messages.

A procedure's ``messages.<lang>.json`` hold, per engine event, ``notice.<event>.title``
and ``notice.<event>.body`` as :meth:`str.format` templates, e.g.
``"{procedure_title}の申請を受け付けました（受付番号 {reference}）"``. Composition is pure:
the same messages and parameters always give the same notice, so an activity may compose
again on retry.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

__all__ = [
    "LANGUAGES",
    "ComposedNotice",
    "NoticeParam",
    "NoticeTemplateInvalid",
    "NoticeTemplateMissing",
    "compose_notice",
    "shown_value",
]

#: Every notice is composed in these languages: Japanese (the legal text) and English.
LANGUAGES: tuple[str, ...] = ("ja", "en")


def shown_value(value: object) -> NoticeParam:
    """A declared case value (``include``) as a notice text shows it: amounts with
    thousands separators (15,000), a ``{"ja", "en"}`` object (a grade) per language,
    nothing for a value that could not be evaluated."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return {"ja": "はい" if value else "いいえ", "en": "yes" if value else "no"}
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, Mapping) and all(isinstance(value.get(lang), str) for lang in LANGUAGES):
        return {lang: value[lang] for lang in LANGUAGES}
    return str(value)


class ComposedNotice(BaseModel):
    """A notice ready for any channel: title and body by language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: dict[str, str]
    body: dict[str, str]


class NoticeTemplateMissing(KeyError):
    """A language has no title or body template for the event."""

    def __init__(self, event: str, lang: str, key: str) -> None:
        super().__init__(key)
        self.event = event
        self.lang = lang
        self.key = key

    def __str__(self) -> str:  # KeyError would show only the quoted key
        return f"no notice template {self.key!r} for event {self.event!r} in {self.lang!r}"


class NoticeTemplateInvalid(ValueError):
    """A template is not a valid format string (e.g. an unbalanced brace)."""


class _BlankMissing(dict[str, str]):
    # A placeholder the caller did not supply renders empty: a notice with a gap is better
    # than a case whose notice activity fails on every retry over a catalogue wording.
    def __missing__(self, key: str) -> str:
        return ""


#: A template parameter: one value for every language, or a value per language
#: (``{"ja": "罹災証明書", "en": "Disaster damage certificate"}``).
NoticeParam = str | Mapping[str, str]


def compose_notice(
    messages: Mapping[str, Mapping[str, str]], event: str, params: Mapping[str, NoticeParam]
) -> ComposedNotice:
    """Compose the notice of ``event`` in every language of :data:`LANGUAGES`.

    :param messages: ``{"ja": {key: template}, "en": {...}}``, a procedure's messages.
    :param event: the engine event, e.g. ``"submitted"``.
    :param params: values for the templates' ``{placeholders}``. A mapping value is taken
        per language (a procedure or document title). A missing placeholder, or a mapping
        without the language, renders as the empty string.
    :raises NoticeTemplateMissing: if a language lacks ``notice.<event>.title`` or
        ``notice.<event>.body`` (or the language is missing altogether).
    :raises NoticeTemplateInvalid: if a template is not a valid format string.
    """
    title: dict[str, str] = {}
    body: dict[str, str] = {}
    for lang in LANGUAGES:
        catalogue = messages.get(lang, {})
        values = _BlankMissing(
            {
                name: value.get(lang, "") if isinstance(value, Mapping) else value
                for name, value in params.items()
            }
        )
        for part, target in (("title", title), ("body", body)):
            key = f"notice.{event}.{part}"
            try:
                template = catalogue[key]
            except KeyError:
                raise NoticeTemplateMissing(event, lang, key) from None
            try:
                target[lang] = template.format_map(values)
            except (ValueError, IndexError, AttributeError, TypeError) as exc:
                raise NoticeTemplateInvalid(
                    f"notice template {key!r} ({lang}) for event {event!r}: {exc}"
                ) from exc
    return ComposedNotice(title=title, body=body)
