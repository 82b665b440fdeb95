"""Rendering pages: the Jinja2 environment, the common page context, HTML error pages.

Page handlers are wrapped with :func:`page`, which turns the domain's refusals into HTML
(the API's JSON error handler is for ``/api``): no valid session → the sign-in page, a
missing CSRF token → 403 page, a ``CaseError`` → an error page with its localized message.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from identity.principals import Caseworker, Resident
from portal.web import i18n, session
from portal.web.schemaform import anchor
from workflows.cases import CaseError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tojson_compact"] = lambda v: json.dumps(
        v, ensure_ascii=False, separators=(",", ":")
    )
    env.globals["anchor"] = anchor
    return env


def base_context(request: Request, principal: Resident | Caseworker | None = None) -> dict:
    lang = i18n.request_lang(request)
    other = "en" if lang == "ja" else "ja"
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    query["lang"] = other
    if principal is None:
        principal = session.current_principal(request)
    return {
        "request": request,
        "lang": lang,
        "t": lambda key, **values: i18n.text(key, lang, **values),
        "pick": lambda value: i18n.pick(value, lang),
        "when": lambda moment, date_only=False: i18n.when(moment, lang, date_only=date_only),
        "status_text": lambda s: i18n.pick(i18n.STATUS.get(s, (s, s)), lang),
        "principal": principal,
        "is_resident": isinstance(principal, Resident),
        "is_caseworker": isinstance(principal, Caseworker),
        "csrf_field": session.CSRF_FIELD,
        "csrf": session.csrf_token(request),
        "switch_url": request.url.path + "?" + urlencode(query),
        "path": request.url.path,
    }


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    principal: Resident | Caseworker | None = None,
    **values: Any,
) -> HTMLResponse:
    context = base_context(request, principal)
    context.update(values)
    html = environment().get_template(template).render(context)
    response = HTMLResponse(
        html,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Content-Language": context["lang"],
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY",
        },
    )
    if "lang" in request.query_params and request.query_params["lang"] in i18n.LANGS:
        response.set_cookie(
            i18n.LANG_COOKIE,
            request.query_params["lang"],
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=session.is_secure(request),
            path="/",
        )
    return session.finish(request, response)


def redirect(url: str) -> RedirectResponse:
    """303 See Other: the GET after a POST (POST-redirect-GET)."""
    return RedirectResponse(url, status_code=303)


def error_page(
    request: Request, status: int, message: dict[str, str], details: Any = None
) -> HTMLResponse:
    existing = details.get("existing_application") if isinstance(details, dict) else None
    return render(request, "error.html", status=status, message=message, existing=existing)


Handler = Callable[..., Awaitable[Response]]


def page(handler: Handler) -> Handler:
    """Wrap a page handler: sign-in redirects, CSRF and domain errors as HTML pages."""

    @functools.wraps(handler)
    async def wrapped(*args: Any, **kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        try:
            if request.method == "POST":
                session.check_csrf(request, await request.form())
            return await handler(*args, **kwargs)
        except session.LoginRequired as exc:
            target = request.url.path if request.method == "GET" else "/"
            reason = "expired" if exc.expired else "required"
            response = redirect(f"/login?next={quote(target)}&reason={reason}")
            if exc.expired:
                session.end_session(request, response)
            return response
        except session.CsrfRejected:
            return error_page(
                request,
                403,
                {
                    "ja": "画面の有効期限が切れました。"
                    "前の画面に戻り、再読み込みしてからやり直してください。",
                    "en": "This form has expired. Go back, reload the page and try again.",
                },
            )
        except CaseError as exc:
            return error_page(request, exc.status, exc.message, exc.details)

    return wrapped
