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


#: Seconds a client is asked to wait when the workflow service is busy or restarting.
BUSY_RETRY_AFTER = 5


def retry_after_header(refused: Refused) -> dict[str, str] | None:
    """``Retry-After`` for a refusal that means "not now" (a 503): the seconds it names,
    else the workflow service's."""
    if refused.kind != "unavailable":
        return None
    named = refused.details.get("retry_after") if isinstance(refused.details, dict) else None
    return {"Retry-After": str(named if isinstance(named, int) else BUSY_RETRY_AFTER)}
