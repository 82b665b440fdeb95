"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from portal.api.routes import (
    applications,
    attachments,
    campaigns,
    catalog_admin,
    counter,
    documents,
    drafts,
    inbox,
    life_events,
    preferences,
    procedures,
    push,
    queue,
    verify,
)
from portal.bodylimit import DEFAULT_LIMITS, DEFAULT_MAX_BYTES, BodyLimit, BodyLimitMiddleware
from portal.deps import PortalContext
from portal.errors import install_error_handlers
from portal.headers import SecurityHeadersMiddleware, install_api_docs
from portal.pages import assisted as assisted_pages
from portal.pages import auth, caseworker, ledger, notifications, public, resident
from portal.pages import counter as counter_pages
from portal.pages import counter_life_events as counter_le_pages
from portal.pages import life_events as life_event_pages
from portal.pages import receipts as receipt_pages
from portal.pages import statistics as statistics_pages
from portal.ratelimit import DEFAULT_RULES, RateLimitMiddleware, Rule

#: Every router, in the order they are mounted: the API by resource, then the pages.
ROUTERS: tuple[APIRouter, ...] = (
    procedures.router,
    applications.router,
    drafts.router,
    attachments.router,
    documents.router,
    verify.router,
    inbox.router,
    preferences.router,
    push.router,
    queue.router,
    campaigns.router,
    catalog_admin.router,
    life_events.router,
    counter.router,
    auth.router,
    public.router,
    resident.router,
    life_event_pages.router,
    caseworker.router,
    ledger.router,
    notifications.router,
    statistics_pages.router,
    assisted_pages.router,
    receipt_pages.router,
    counter_pages.router,
    counter_le_pages.router,
)

ContextFactory = Callable[[], Awaitable[PortalContext]]


def create_app(
    context_factory: ContextFactory,
    rate_limits: tuple[Rule, ...] = DEFAULT_RULES,
    *,
    rate_limit_storage: str = "memory://",
    forwarded_allow_ips: str = "",
    body_limits: tuple[BodyLimit, ...] = DEFAULT_LIMITS,
    max_body_bytes: int = DEFAULT_MAX_BYTES,
) -> FastAPI:
    """An app whose lifespan builds its context (clients, stores) with ``context_factory``.

    :param rate_limit_storage: where the rate limits count (``memory://``: this process;
        ``redis://host:6379``: shared by every web process).
    :param forwarded_allow_ips: the proxies whose ``X-Forwarded-For`` names the client
        (comma-separated addresses or networks; empty: none).
    :param body_limits: request body limits of the routes that take files;
        ``max_body_bytes`` for every other request.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.portal = await context_factory()
        yield

    app = FastAPI(
        title="madoguchi",
        summary="One-stop online procedures for municipalities / 自治体の手続きをオンラインで",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's own pages load Swagger UI and ReDoc from a CDN: served locally instead.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(RateLimitMiddleware, rules=rate_limits, storage=rate_limit_storage,
                       trusted_proxies=forwarded_allow_ips)
    # A body over its limit is refused before anything reads it.
    app.add_middleware(BodyLimitMiddleware, limits=body_limits, default_max_bytes=max_body_bytes)
    # Outermost: the security headers reach refused, rate-limited and error answers too.
    app.add_middleware(SecurityHeadersMiddleware)
    install_api_docs(app)
    for router in ROUTERS:
        app.include_router(router)

    _document_limits(app, rate_limits)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
#: Methods whose requests carry a body, so the body limit (413) applies to them.
_WITH_BODY = frozenset({"post", "put", "patch"})


def _document_limits(app: FastAPI, rules: tuple[Rule, ...]) -> None:
    """Say in the OpenAPI spec which operations answer 429 with Retry-After, that those
    taking a body answer 413 past its limit, and that every one answers 400 to a request
    with more than one Authorization header."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                responses.setdefault("400", {
                    "description": "More than one Authorization header",
                    "content": _ERROR_CONTENT})
                if method in _WITH_BODY:
                    responses.setdefault("413", {
                        "description": "Request body over this operation's limit",
                        "content": _ERROR_CONTENT})
                if any(r.matches(method.upper(), path) for r in rules):
                    operation.setdefault("responses", {})["429"] = {
                        "description": "Too many requests from this client",
                        "headers": {"Retry-After": {
                            "description": "seconds to wait", "schema": {"type": "integer"}}},
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
