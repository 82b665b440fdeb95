"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from portal.api.routes import applications, documents, inbox, procedures, queue
from portal.deps import PortalContext
from portal.errors import install_error_handlers

ContextFactory = Callable[[], Awaitable[PortalContext]]


def create_app(context_factory: ContextFactory) -> FastAPI:
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
    for module in (applications, queue, inbox, documents, procedures):
        app.include_router(module.router)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app
