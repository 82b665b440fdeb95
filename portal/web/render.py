"""Rendering pages: the Jinja2 environment, the common page context, HTML error pages.

Page handlers are wrapped with :func:`page`, which turns the domain's refusals into HTML
(the API's JSON error handler is for ``/api``): no valid session → the sign-in page, a
missing CSRF token → 403 page, a refusal (``Refused``) → an error page with its localized
message and the status of its kind.
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

from forms.attachments import MAX_BYTES_LIMIT
from forms.schemaform import anchor
from identity.counter import METHOD_TEXTS
from identity.principals import Caseworker, Resident
from portal.statuses import retry_after_header, status_of
from portal.web import assisted, i18n, session
from services.refusals import Refused

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
    env.globals["assisted_state"] = assisted.state
    env.globals["assist_steps"] = assisted.steps
    env.globals["counter_method"] = lambda method: METHOD_TEXTS[method].model_dump()
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
        "switch_url": same_site_path(request.url.path) + "?" + urlencode(query),
        "path": request.url.path,
    }


def same_site_path(path: str) -> str:
    """``path`` as a link that stays on this site: one leading ``/`` (a request for
    ``//evil.example/x`` must not link to another host; browsers read ``\\`` as ``/``),
    percent-encoded."""
    return "/" + quote(path.lstrip("/\\"), safe="/-._~!$&'()*+,;=:@%")


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
    return html_response(request, html, context["lang"], status=status)


def html_response(request: Request, html: str, lang: str, *, status: int = 200) -> HTMLResponse:
    """A page's HTML with the pages' headers and cookies (the language asked for, a CSRF
    token made while rendering); for a page whose HTML was rendered earlier, too."""
    response = HTMLResponse(
        html,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Content-Language": lang,
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
    return render(
        request, "error.html", status=status, message=message, existing=existing, code=status
    )


_NOT_FOUND = {"ja": "お探しのページは見つかりませんでした。", "en": "We could not find that page."}
_SERVER_ERROR = {
    "ja": "システムで問題が起きました。時間をおいて、もう一度お試しください。",
    "en": "Something went wrong on our side. Please try again later.",
}
_OTHER = {"ja": "このページは表示できません。", "en": "This page cannot be shown."}
_BUSY = {
    "ja": "ただいま混み合っています。少し待って、もう一度お試しください。"
    "送った内容は失われていません。",
    "en": "We are very busy right now. Please try again in a moment; nothing you sent is lost.",
}


def wants_html(request: Request) -> bool:
    """A browser asking for a page: not under ``/api``, and ``text/html`` accepted."""
    path = request.url.path
    if path == "/api" or path.startswith("/api/") or path in ("/openapi.json", "/healthz"):
        return False
    return "text/html" in request.headers.get("accept", "")


def html_error(request: Request, status: int) -> HTMLResponse | None:
    """The HTML error page (404, 405, 500, ...) for a browser on a non-API path, or
    ``None`` when the caller should get the JSON error body. Used by portal/errors.py."""
    if not wants_html(request):
        return None
    message = (_NOT_FOUND if status == 404 else _BUSY if status == 503
               else _SERVER_ERROR if status >= 500 else _OTHER)
    try:
        return error_page(request, status, message)
    except Exception:  # a broken template must not hide the original error
        return None


Handler = Callable[..., Awaitable[Response]]

#: A page post carries at most one file of the largest size a field may take, plus the
#: answers so far: Starlette would otherwise spool any body to disk before we look at it.
MAX_PAGE_BODY = MAX_BYTES_LIMIT + 1024 * 1024


class BodyTooLarge(Exception):
    """A page POST larger than :data:`MAX_PAGE_BODY`, or a multipart one of unknown size."""


def _check_body_size(request: Request) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        if request.headers.get("content-type", "").startswith("multipart/"):
            raise BodyTooLarge  # browsers send the length; refuse unbounded uploads
        return
    if not declared.isdigit() or int(declared) > MAX_PAGE_BODY:
        raise BodyTooLarge


def page(handler: Handler) -> Handler:
    """Wrap a page handler: sign-in redirects, CSRF and domain errors as HTML pages."""

    @functools.wraps(handler)
    async def wrapped(*args: Any, **kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        try:
            if request.method == "POST":
                _check_body_size(request)
                session.check_csrf(request, await request.form())
            return await handler(*args, **kwargs)
        except session.LoginRequired as exc:
            target = request.url.path if request.method == "GET" else "/"
            reason = "expired" if exc.expired else "required"
            response = redirect(f"/login?next={quote(target)}&reason={reason}")
            if exc.expired:
                session.end_session(request, response)
            return response
        except BodyTooLarge:
            return error_page(
                request,
                413,
                {
                    "ja": "送られたデータが大きすぎます。"
                    "ファイルを小さくしてから、やり直してください。",
                    "en": "What you sent is too large. Make the file smaller and try again.",
                },
            )
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
        except Refused as exc:
            shown = error_page(request, status_of(exc), exc.message, exc.details)
            shown.headers.update(retry_after_header(exc) or {})  # busy: when to come back
            return shown

    return wrapped
