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
    documents,
    drafts,
    inbox,
    preferences,
    procedures,
    push,
    queue,
    verify,
)
from portal.deps import PortalContext
from portal.errors import install_error_handlers
from portal.headers import SecurityHeadersMiddleware, install_api_docs
from portal.pages import auth, caseworker, notifications, public, resident
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
    auth.router,
    public.router,
    resident.router,
    caseworker.router,
    notifications.router,
)

ContextFactory = Callable[[], Awaitable[PortalContext]]


def create_app(
    context_factory: ContextFactory, rate_limits: tuple[Rule, ...] = DEFAULT_RULES
) -> FastAPI:
    """An app whose lifespan builds its context (clients, stores) with ``context_factory``."""

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
    app.add_middleware(RateLimitMiddleware, rules=rate_limits)
    # Outermost: the security headers reach rate-limited and error answers too.
    app.add_middleware(SecurityHeadersMiddleware)
    install_api_docs(app)
    for router in ROUTERS:
        app.include_router(router)

    _document_rate_limits(app, rate_limits)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app


def _document_rate_limits(app: FastAPI, rules: tuple[Rule, ...]) -> None:
    """Say in the OpenAPI spec which operations answer 429 with Retry-After."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
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
