"""Validating what a resident files: a saved draft (leniently) and an application.

This module exists for the checks of a procedure's form that need more than the schema:
how lenient a draft may be, the choices a municipality declares (``x-choices``, e.g. its
disaster events) and the attachments the form data references (they must exist, belong
to the applicant, and fit the field's ``x-attachment`` rule). The schema part is
:func:`forms.validation.schema_errors`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from forms.attachments import attachment_fields
from forms.expressions import ExpressionError, evaluate
from forms.pointers import is_missing, resolve, segments, to_pointer
from forms.schemas import CHOICE_SOURCES, chain_at, common_registry, first, iter_fields
from forms.texts import message
from forms.validation import FieldError, ValidationResult, capped, schema_errors

if TYPE_CHECKING:
    from forms.municipalities import Municipality
    from forms.packages import Procedure

__all__ = [
    "REFUSED_IN_DRAFTS",
    "AttachmentInfo",
    "AttachmentLookup",
    "eligibility_errors",
    "validate_application",
    "validate_draft",
]


class AttachmentInfo(Protocol):
    """What validation needs to know of an uploaded file (records.attachments has it)."""

    owner: str
    media_type: str
    size: int


class AttachmentLookup(Protocol):
    def get(self, attachment_id: str) -> AttachmentInfo | None: ...


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size / 1024:g} KB"


def _attachment_errors(
    procedure: Procedure,
    data: object,
    failed: set[str],
    attachments: AttachmentLookup | None,
    owner: str | None,
) -> list[FieldError]:
    errors: list[FieldError] = []
    for pointer, rule in attachment_fields(procedure.form_schema):
        value = resolve(data, pointer)
        if is_missing(value) or pointer in failed:
            continue
        ids = value if isinstance(value, list) else [value]
        path: list[str | int] = list(segments(pointer))
        chain = chain_at(procedure.form_schema, path, common_registry())

        def error(
            code: str, at: list[str | int], chain: list[dict] = chain, **extra: object
        ) -> FieldError:
            limit = extra.pop("limit", None)
            return FieldError(
                path=to_pointer(at),
                code=code,
                message=message(
                    code,
                    at,
                    chain,
                    procedure.messages,
                    limit=limit,
                    extra={k: str(v) for k, v in extra.items()},
                ),
            )

        if len(ids) > rule.max_count:
            # Too many: reported once, the files themselves are not looked up one by one.
            errors.append(error("attachment_count", path, limit=rule.max_count))
            continue
        if attachments is None:
            continue
        for index, attachment_id in enumerate(ids):
            at = [*path, index] if isinstance(value, list) else path
            found = attachments.get(attachment_id) if isinstance(attachment_id, str) else None
            # Someone else's file is reported as missing: its existence is not revealed.
            if found is None or (owner is not None and found.owner != owner):
                errors.append(error("unknown_attachment", at))
            elif found.media_type not in rule.types:
                errors.append(
                    error(
                        "attachment_type",
                        at,
                        types=", ".join(t.split("/")[-1].upper() for t in rule.types),
                    )
                )
            elif found.size > rule.max_bytes:
                errors.append(error("attachment_size", at, limit=_human_size(rule.max_bytes)))
    return errors


#: Japan has one time zone and no daylight saving time.
_JST = dt.timezone(dt.timedelta(hours=9))


def eligibility_errors(
    procedure: Procedure, data: object, today: dt.date | None = None, *,
    municipality: Municipality | None = None, applicant: Mapping[str, Any] | None = None,
) -> list[FieldError]:
    """The procedure's ``eligibility`` rules ``data`` does not meet (code ``ineligible``,
    the rule's message at its field), in the order declared.

    An expression that cannot be evaluated on ``data`` (a value it needs is missing) also
    refuses: eligibility that cannot be shown is not granted. ``today`` defaults to the
    date in Japan now (filing happens outside workflows). The rules read the
    ``municipality``'s disaster events as ``events`` and the verified sign-in
    (:func:`applicant_claims`) as ``applicant``.
    """
    rules = procedure.definition.eligibility
    if not rules or not isinstance(data, dict):
        return []
    day = today if today is not None else dt.datetime.now(_JST).date()
    events = {e.id: {"date": e.date.isoformat(), "name": e.name.model_dump()}
              for e in (municipality.disaster_events if municipality else [])}
    errors = []
    for rule in rules:
        try:
            met = evaluate(rule.rule, data=data, params=procedure.definition.params, today=day,
                           events=events, applicant=applicant)
        except ExpressionError:
            met = False
        if met is not True:
            errors.append(
                FieldError(path=rule.field, code="ineligible", message=rule.message.model_dump())
            )
    return errors


def validate_application(
    procedure: Procedure,
    municipality: Municipality,
    data: object,
    *,
    attachments: AttachmentLookup | None = None,
    owner: str | None = None,
    today: dt.date | None = None,
    applicant: Mapping[str, Any] | None = None,
) -> ValidationResult:
    """Validate an application to ``procedure`` filed with ``municipality``.

    Runs the form schema first, then the cross checks that need the municipality: every
    field whose schema declares ``"x-choices": "disaster_events"`` must name one of the
    municipality's declared events (code ``unknown_disaster_event``). A field that
    already failed the schema is not cross-checked again.

    Fields with ``x-attachment`` are checked against the rule's ``max_count``; with
    ``attachments`` given, every referenced id must exist and belong to ``owner`` (the
    applicant key; code ``unknown_attachment``), and its sniffed type and size must fit
    the rule (``attachment_type``, ``attachment_size``).

    When all of that passes, the procedure's ``eligibility`` rules run on the data
    (:func:`eligibility_errors`, code ``ineligible``; ``today``: the date in Japan).
    """
    errors = schema_errors(procedure.form_schema, data, messages=procedure.messages)
    failed = {e.path for e in errors}
    errors += _attachment_errors(procedure, data, failed, attachments, owner)
    registry = common_registry()
    for pointer, chain in iter_fields(procedure.form_schema, registry):
        source = first(chain, "x-choices")
        if source is None or pointer in failed:
            continue
        if source not in CHOICE_SOURCES:
            raise ValueError(f"{pointer}: unknown x-choices source {source!r}")
        code, allowed_values = CHOICE_SOURCES[source]
        value = resolve(data, pointer)
        if is_missing(value):
            continue
        if isinstance(value, str) and value in allowed_values(municipality):
            continue
        path = segments(pointer)
        errors.append(
            FieldError(
                path=pointer,
                code=code,
                message=message(code, list(path), chain, procedure.messages),
            )
        )
    errors.sort(key=lambda e: (e.path, e.code))
    if not errors:
        # The rules read valid data only: on a form that fails its schema they would
        # refuse for reasons the field errors already give.
        errors = eligibility_errors(procedure, data, today, municipality=municipality,
                                    applicant=applicant)
    listed, omitted = capped(errors)
    return ValidationResult(valid=not listed, errors=listed, omitted=omitted)


#: Problems a draft is refused for, not merely warned about: storing it would make every
#: later read of the draft fail somewhere (too deep), or it cannot be stored at all (a lone
#: surrogate is no UTF-8) or shown safely (bidirectional controls).
REFUSED_IN_DRAFTS = frozenset({"maxDepth", "forbidden_character"})


def validate_draft(procedure: Procedure, data: object) -> ValidationResult:
    """Lenient validation of a saved draft: problems are warnings, with two exceptions.

    Missing answers (``required``, ``minLength`` 1, ``minItems`` 1) are not reported at all:
    a draft is unfinished by definition. ``valid`` is false only when ``data`` is not an
    object, which no form can ever become, when it is nested deeper than the input limits
    allow (code ``maxDepth``), or when a text holds a character no form takes
    (``forbidden_character``): these are in :attr:`ValidationResult.errors`.
    """
    found = schema_errors(procedure.form_schema, data, messages=procedure.messages)
    incomplete = {"required", "dependentRequired"}
    warnings = []
    refused = []
    for error in found:
        if error.code in REFUSED_IN_DRAFTS:
            refused.append(error)
            continue
        if error.code in incomplete:
            continue
        if error.code in {"minLength", "minItems"} and resolve(data, error.path) in ("", []):
            continue
        warnings.append(error)
    warnings, _ = capped(warnings)
    if not isinstance(data, dict):
        refused = found
    errors, omitted = capped(refused)
    return ValidationResult(valid=not errors, errors=errors, warnings=warnings, omitted=omitted)
