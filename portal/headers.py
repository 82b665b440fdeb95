"""Security headers on every answer, and the API docs served from this host.

One middleware (:class:`SecurityHeadersMiddleware`) adds a strict Content-Security-Policy
and the other security headers to every page, API answer, error and static file, unless
the route set its own (the public verify page does: it allows nothing but its inline
stylesheet). The pages need nothing beyond their own origin: scripts are files
under ``/static`` (no inline script, no inline style, no ``eval``), forms post to this
site, the service worker and its fetches are same-origin.

The API docs (``/docs``) run Swagger UI from the pinned ``swagger-ui-bundle-v2`` package,
served under ``/docs/assets/`` — never a script from a CDN on the sessions' origin — and
started by ``/static/docs.js``, under the same strict policy as the pages (Swagger UI 5
needs no inline script or style; a browser test checks it).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.errors import error_response

#: The pages' and the API's policy: this origin only, nothing inline, no framing.
CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)
#: Sent on https only: a plain-http development server must stay reachable.
HSTS = ("strict-transport-security", "max-age=31536000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` (and HSTS on https) to every HTTP answer; a header
    the route set itself is left alone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = SECURITY_HEADERS + ((HSTS,) if scope.get("scheme") == "https" else ())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name.encode("latin-1"), value.encode("latin-1"))
                            for name, value in extra if name.encode("latin-1") not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- the API docs ------------------------------------------------------------------------

_ASSETS_PREFIX = "/docs/assets"
_DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "oauth2-redirect.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>madoguchi API</title>
<link rel="icon" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<main id="swagger-ui" data-openapi-url="{openapi_url}"
      data-oauth2-redirect-url="/docs/oauth2-redirect"></main>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""

_OAUTH2_REDIRECT_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>madoguchi API</title></head>
<body><script src="/docs/assets/oauth2-redirect.js"></script></body>
</html>
"""


def swagger_ui_dir() -> Path:
    """The pinned Swagger UI's files (package ``swagger-ui-bundle-v2``)."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def install_api_docs(app: FastAPI, *, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/docs`` (Swagger UI) and its assets from this host; ``/redoc`` (which would
    load ReDoc from a CDN) leads there. Create ``app`` with ``docs_url=None`` and
    ``redoc_url=None`` so FastAPI's CDN-loading pages are not mounted.

    :raises ImportError: if the ``swagger-ui-bundle-v2`` package is missing.
    """
    assets = swagger_ui_dir()
    page = _DOCS_PAGE.format(openapi_url=openapi_url)

    async def docs() -> HTMLResponse:
        """Swagger UI, from this host."""
        return HTMLResponse(page, headers={"cache-control": "no-store"})

    async def oauth2_redirect() -> HTMLResponse:
        return HTMLResponse(_OAUTH2_REDIRECT_PAGE, headers={"cache-control": "no-store"})

    async def redoc() -> RedirectResponse:
        return RedirectResponse("/docs", status_code=308)

    async def asset(scope: Scope, receive: Receive, send: Send) -> None:
        # Inside a mount Starlette keeps the full path (and root_path the prefix).
        rest = scope["path"].removeprefix(_ASSETS_PREFIX)
        name = rest.removeprefix("/")
        media_type = _DOCS_ASSETS.get(name) if scope["method"] in ("GET", "HEAD") else None
        response: Response
        if media_type is None or rest != f"/{name}":
            response = error_response(404, "not_found", "見つかりません。", "Not found.")
        else:
            response = FileResponse(assets / name, media_type=media_type,
                                    headers={"cache-control": "public, max-age=86400"})
        await response(scope, receive, send)

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs/oauth2-redirect", oauth2_redirect, methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    app.mount(_ASSETS_PREFIX, asset)
