"""The signed-in resident's notice preferences (language, e-mail, channels)."""

from __future__ import annotations

from fastapi import APIRouter

from portal.api.routes.push import ApiResident, Notices
from portal.errors import ErrorBody
from records.preferences import NoticePreferences

router = APIRouter(prefix="/api/preferences", tags=["notices"])


@router.get("", responses={c: {"model": ErrorBody} for c in (401, 403)})
async def get_preferences(who: ApiResident, notices: Notices) -> NoticePreferences:
    """How the resident hears of their cases (defaults if never saved)."""
    return notices.preferences.get(who.recipient)


@router.put("", responses={c: {"model": ErrorBody} for c in (401, 403, 422)})
async def put_preferences(
    body: NoticePreferences, who: ApiResident, notices: Notices
) -> NoticePreferences:
    """Save the resident's notice preferences (the whole set)."""
    notices.preferences.put(who.recipient, body)
    return notices.preferences.get(who.recipient)
