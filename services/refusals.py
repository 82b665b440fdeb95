"""The one vocabulary of refusals the use cases give, and no HTTP.

A use case that cannot do what it was asked raises :class:`Refused` with a *kind* (what
sort of "no" it is), a stable ``code`` (what exactly), texts in Japanese and English for
the person, and optional ``details``. Callers decide what a kind means to them: the portal
maps kinds to HTTP statuses in one table (``portal/errors.py``), a CLI to exit codes.

Kinds:

``forbidden``
    the caller may not do this (role, municipality, four eyes, assurance).
``not_found``
    no such thing, or one the caller may not know exists.
``conflict``
    not possible in the thing's present state (closed, duplicate, already revoked).
``invalid``
    the input is wrong; ``details`` lists the field errors.
``gone``
    it existed but its content was deleted (retention).
``too_large``
    the input is larger than the limit in ``details``.
``unsupported``
    the input is of a type this cannot take.
``unavailable``
    not now: a service is down, busy or not configured; nothing was lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel

RefusalKind = Literal[
    "forbidden", "not_found", "conflict", "invalid", "gone", "too_large", "unsupported",
    "unavailable",
]


class Refused(Exception):
    """A use case's refusal: ``kind`` for the caller's mapping, ``code`` and texts for people."""

    def __init__(self, kind: RefusalKind, code: str, ja: str, en: str,
                 details: Any = None) -> None:
        super().__init__(en)
        self.kind: RefusalKind = kind
        self.code = code
        self.message = {"ja": ja, "en": en}
        self.details = details


class EngineBusy(Exception):
    """The workflow service or the case's workers did not answer in time: nothing is lost,
    the request may be tried again (an action may still be applied, so look first).

    Not a :class:`Refused`: nothing was refused, and callers answer it in their own way
    (the portal: 503 with Retry-After)."""


class InvalidData(Refused):
    """Field errors (``forms.validation.FieldError``) of a form or a step's input; a page
    shows them beside their fields, the API lists them in ``details``."""

    def __init__(self, errors: Iterable[BaseModel]) -> None:
        self.errors = list(errors)
        super().__init__("invalid", "invalid_data", "入力内容に誤りがあります。",
                         "Some answers need to be corrected.",
                         details=[e.model_dump() for e in self.errors])


def not_configured(what: str) -> Refused:
    """A part this installation does not run (e.g. drafts without a store)."""
    return Refused("unavailable", f"{what}_unavailable", "この機能は現在使えません。",
                   f"The {what} service is not configured on this server.")
