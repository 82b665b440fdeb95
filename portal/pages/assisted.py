"""The assisted-mode pages (#19): turning the mode on (with the helper's number) and off.

Both are GET requests that only set a preference cookie, like the text size: a link or a
plain form works without JavaScript, and nothing is filed by them.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal.web import assisted, session
from portal.web.render import page, redirect, render, same_site_path

router = APIRouter(include_in_schema=False)

#: A helper's session at a public terminal: the mode ends with the day, not a year later.
MAX_AGE = 12 * 3600


def _back(target: str) -> str:
    """``target`` as a path of this site (never another host), its query kept."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or "\\" in target:
        return "/"
    return same_site_path(parts.path) + (f"?{parts.query}" if parts.query else "")


@router.get("/assisted")
@page
async def assisted_page(request: Request, next: str = "/", problem: str | None = None
                        ) -> Response:
    """What the assisted mode is, and the form that turns it on or off."""
    on, code = assisted.state(request)
    return render(request, "assisted/choose.html", on=on, code=code, back=_back(next),
                  problem=problem == "code")


@router.get("/prefs/assisted")
async def choose(request: Request, mode: str = "on", helper: str = "", next: str = "/"
                 ) -> Response:
    """Turn the assisted mode on (remembering the helper's number) or off; back to the
    page it was chosen on."""
    back = _back(next)
    if mode == "on" and helper.strip() and assisted.helper_code(helper) is None:
        return redirect("/assisted?problem=code&next=" + quote(back, safe=""))
    response = redirect(back)
    if mode == "on":
        response.set_cookie(assisted.COOKIE, assisted.cookie_value(helper), max_age=MAX_AGE,
                            samesite="lax", secure=session.is_secure(request), path="/",
                            httponly=True)
    else:
        response.delete_cookie(assisted.COOKIE, path="/")
    return response

