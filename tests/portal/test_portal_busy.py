"""When the workflow service is restarting or overloaded, people are told to retry (503 with
Retry-After, nothing lost), not that something broke (500)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from temporalio.service import RPCError, RPCStatusCode

from portal.errors import install_error_handlers


def _app(status: RPCStatusCode) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/thing")
    @app.get("/page")
    async def thing() -> None:
        raise RPCError("Timeout expired", status, b"")

    return app


async def _get(app: FastAPI, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as http:
        return await http.get(path, headers=headers)


async def test_a_busy_or_restarting_engine_answers_503_with_retry_after():
    for status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        reply = await _get(_app(status), "/api/thing")
        assert reply.status_code == 503, reply.text
        assert reply.headers["retry-after"] == "5"
        body = reply.json()
        assert body["error"] == "busy"
        assert "失われていません" in body["message"]["ja"] and "lost" in body["message"]["en"]


async def test_a_browser_gets_the_busy_page():
    reply = await _get(_app(RPCStatusCode.UNAVAILABLE), "/page", accept="text/html")
    assert reply.status_code == 503 and reply.headers["retry-after"] == "5"
    assert "混み合っています" in reply.text


async def test_other_engine_errors_stay_500():
    reply = await _get(_app(RPCStatusCode.INVALID_ARGUMENT), "/api/thing")
    assert reply.status_code == 500
    assert reply.json()["error"] == "internal_error"
