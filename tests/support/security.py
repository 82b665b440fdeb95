"""The world the security tests attack (people, their cases, drafts and files), route
walking, and a real server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from PIL import Image

from forms.catalog import Catalog
from madoguchi.up import free_port
from portal.app import create_app

APPS = "/api/applications"


MUNICIPALITY = "131016"


OTHER_MUNICIPALITY = "141003"


def example(catalog: Catalog, procedure: str, name: str) -> dict[str, Any]:
    directory = catalog.get(procedure).directory / "examples"
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    """A stack, the people who use it (auth headers by role name) and what they made."""

    stack: Any
    people: dict[str, dict[str, str]]
    tokens: dict[str, str]
    application: str  # the own resident's issued 罹災証明書 case
    document: str  # its sealed certificate
    proxy_application: str  # filed by "proxy" for a family member
    business_application: str  # the SME grant filed by "business"
    draft: str  # the own resident's draft
    attachment: str  # the own resident's photo
    subscription: str = ""  # the own resident's push subscription (if push is on)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def app(self) -> FastAPI:
        return self.stack.http._transport.app


async def act(http, app_id: str, headers: dict[str, str], action: str, **body: Any):
    reply = await http.post(
        f"{APPS}/{app_id}/actions", json={"action": action, **body}, headers=headers
    )
    assert reply.status_code == 200, (action, reply.text)
    return reply


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", access_log=False
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def unlimited_app(world: World) -> FastAPI:
    """The world's app again, with its context but without rate limits (for fuzzing)."""
    app = create_app(lambda: None, rate_limits=())  # type: ignore[arg-type,return-value]
    app.state.portal = world.app.state.portal
    return app


def snapshot(root: Path) -> dict[str, tuple[int, float]]:
    """Every file under ``root`` with its size and modification time."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime)
        for p in root.rglob("*")
        if p.is_file()
    }


def walk_routes(routes, prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """``(method, path, endpoint)`` of every HTTP route, through included routers."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            yield from walk_routes(
                route.original_router.routes, prefix + route.include_context.prefix
            )
        elif hasattr(route, "methods") and route.methods:
            for method in sorted(route.methods - {"HEAD"}):
                yield method, prefix + route.path, getattr(route, "endpoint", None)
