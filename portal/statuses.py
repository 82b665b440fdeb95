"""The HTTP status of each kind of refusal: the one table pages and API share."""

from __future__ import annotations

from services.refusals import RefusalKind, Refused

STATUS_OF_KIND: dict[RefusalKind, int] = {
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "gone": 410,
    "too_large": 413,
    "unsupported": 415,
    "invalid": 422,
    "unavailable": 503,
}


def status_of(refused: Refused) -> int:
    """The HTTP status a refusal answers with."""
    return STATUS_OF_KIND[refused.kind]
