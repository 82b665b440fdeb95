"""The signed-in resident's notice preferences (language, e-mail, channels)."""

from __future__ import annotations

from fastapi import APIRouter

from portal.deps import ApiResident, App
from portal.errors import ErrorBody
from records.preferences import NoticePreferences

router = APIRouter(prefix="/api/preferences", tags=["notices"])


@router.get("", responses={c: {"model": ErrorBody} for c in (401, 403)})
async def get_preferences(resident: ApiResident, app: App) -> NoticePreferences:
    """How the resident hears of their cases (defaults if never saved)."""
    return app.notices.preferences(resident)


@router.put("", responses={c: {"model": ErrorBody} for c in (401, 403, 422)})
async def put_preferences(
    body: NoticePreferences, resident: ApiResident, app: App
) -> NoticePreferences:
    """Save the resident's notice preferences (the whole set)."""
    return app.notices.save_preferences(resident, body)
