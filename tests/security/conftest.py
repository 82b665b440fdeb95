"""Fixtures of the hostile-input and privacy tests: one installation with real data in it.

``world`` files and finishes a 罹災証明書 case (so a sealed document exists), a proxy
filing, a draft and an attachment, through the HTTP API like a person would; the tests
then attack that data. ``serve`` runs an app on a loopback port in the test's own event
loop (the Temporal client is bound to it), for clients that speak real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from PIL import Image

from forms.catalog import Catalog
from madoguchi.up import free_port
from portal.app import create_app
from tests.conftest import documents_of, eventually

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


async def _act(http, app_id: str, headers: dict[str, str], action: str, **body: Any):
    reply = await http.post(
        f"{APPS}/{app_id}/actions", json={"action": action, **body}, headers=headers
    )
    assert reply.status_code == 200, (action, reply.text)
    return reply


@pytest.fixture
async def world(stack, catalog) -> World:
    issuer = stack.issuer
    tokens = {
        "own": issuer.issue_resident("sec-own", "安全 太郎"),
        "other": issuer.issue_resident("sec-other", "他人 花子"),
        "proxy": issuer.issue_resident("sec-proxy", "代理 一郎"),
        "business": issuer.issue_business("sec-gbiz", "7000012050002", "株式会社まどぐち商店"),
        "reviewer": issuer.issue_caseworker("sec-rev", [MUNICIPALITY], ["reviewer"]),
        "surveyor": issuer.issue_caseworker("sec-sur", [MUNICIPALITY], ["surveyor"]),
        "approver": issuer.issue_caseworker("sec-app", [MUNICIPALITY], ["approver"]),
        "admin": issuer.issue_caseworker("sec-adm", [MUNICIPALITY], ["admin"]),
        "staff": issuer.issue_caseworker(
            "sec-staff", [MUNICIPALITY], ["reviewer", "surveyor", "approver", "admin"]
        ),
        "elsewhere": issuer.issue_caseworker(
            "sec-yoko", [OTHER_MUNICIPALITY], ["reviewer", "surveyor", "approver", "admin"]
        ),
    }
    people = {name: bearer(token) for name, token in tokens.items()}
    people["anonymous"] = {}
    http = stack.http

    certificate = {
        "procedure": "disaster-certificate",
        "municipality": MUNICIPALITY,
        "data": example(catalog, "disaster-certificate", "valid-basic"),
    }
    photo = await http.post(
        "/api/attachments",
        headers=people["own"],
        params={
            "procedure": "disaster-certificate",
            "field": "/photos",
            "municipality": MUNICIPALITY,
        },
        files={"file": ("photo.png", png(), "image/png")},
    )
    assert photo.status_code == 201, photo.text
    with_photo = {**certificate, "data": {**certificate["data"], "photos": [photo.json()["id"]]}}
    filed = await http.post(APPS, json=with_photo, headers=people["own"])
    assert filed.status_code == 201, filed.text
    app_id = filed.json()["id"]
    await _act(http, app_id, people["reviewer"], "accept")
    await _act(
        http,
        app_id,
        people["surveyor"],
        "survey",
        data={"damage_ratio": 55, "surveyed_on": "2026-10-02"},
    )
    await _act(http, app_id, people["approver"], "approve")

    async def issued():
        body = (await http.get(f"{APPS}/{app_id}", headers=people["own"])).json()
        return documents_of(body, "certificate") or None

    document = (await eventually(issued))[0]["id"]

    proxied = await http.post(
        APPS,
        headers=people["proxy"],
        json={
            **certificate,
            "data": example(catalog, "disaster-certificate", "valid-tenant"),
            "proxy": {
                "name": "代理 トメ",
                "name_kana": "ダイリ トメ",
                "birthdate": "1938-04-02",
                "relationship": "child",
            },
        },
    )
    assert proxied.status_code == 201, proxied.text

    grant = await http.post(
        APPS,
        headers=people["business"],
        json={
            "procedure": "sme-telework-grant",
            "municipality": MUNICIPALITY,
            "data": example(catalog, "sme-telework-grant", "valid-corporation"),
        },
    )
    assert grant.status_code == 201, grant.text

    draft = await http.post(
        "/api/drafts",
        headers=people["own"],
        json={"procedure": "disaster-certificate", "municipality": MUNICIPALITY, "data": {}},
    )
    assert draft.status_code == 201, draft.text
    second_draft = await http.post(
        "/api/drafts",
        headers=people["own"],
        json={"procedure": "disaster-certificate", "municipality": MUNICIPALITY, "data": {}},
    )
    assert second_draft.status_code == 201, second_draft.text

    return World(
        stack=stack,
        people=people,
        tokens=tokens,
        application=app_id,
        document=document,
        proxy_application=proxied.json()["id"],
        business_application=grant.json()["id"],
        draft=draft.json()["id"],
        attachment=photo.json()["id"],
        extra={"second_draft": second_draft.json()["id"]},
    )


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
