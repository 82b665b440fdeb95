"""The FastAPI application."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from fastapi import FastAPI

from portal.deps import PortalContext
from portal.errors import install_error_handlers
from portal.ratelimit import DEFAULT_RULES, RateLimitMiddleware, Rule

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
    )
    install_error_handlers(app)
    app.add_middleware(RateLimitMiddleware, rules=rate_limits)
    for module in _router_modules():
        app.include_router(module.router)

    _document_rate_limits(app, rate_limits)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app


def _router_modules() -> list[ModuleType]:
    """Every module of ``portal.api.routes`` (and ``portal.pages`` when present) that has a
    ``router``: a new resource is one new file, no registry to edit."""
    modules = []
    for package_name in ("portal.api.routes", "portal.pages"):
        try:
            package = importlib.import_module(package_name)
        except ModuleNotFoundError:
            continue
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{package_name}.{info.name}")
            if hasattr(module, "router"):
                modules.append(module)
    return modules


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
