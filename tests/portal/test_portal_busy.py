"""When the workflow service is restarting or overloaded, people are told to retry (503 with
Retry-After, nothing lost), not that something broke (500)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from portal.errors import install_error_handlers
from services.refusals import EngineBusy


def _app(status: RPCStatusCode | Exception, message: str = "Timeout expired") -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/thing")
    @app.post("/api/thing")
    @app.get("/page")
    async def thing() -> None:
        if isinstance(status, Exception):
            raise status
        raise RPCError(message, status, b"")

    return app


async def _get(app: FastAPI, path: str, method: str = "GET", **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as http:
        return await http.request(method, path, headers=headers)


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


async def test_a_dropped_connection_a_timed_out_update_or_an_idle_worker_is_busy_too():
    causes = [
        _app(RPCStatusCode.UNKNOWN, "transport error"),  # the server killed under the call
        _app(WorkflowUpdateRPCTimeoutOrCancelledError()),
        _app(EngineBusy("no worker took the action within 30 s")),
    ]
    for app in causes:
        reply = await _get(app, "/api/thing", method="POST")
        assert reply.status_code == 503, reply.text
        # A change may have arrived: the answer says to look before sending it again.
        assert "届いている場合があります" in reply.json()["message"]["ja"]
        assert "may have arrived" in reply.json()["message"]["en"]
    other = await _get(_app(RPCStatusCode.UNKNOWN, "something else"), "/api/thing")
    assert other.status_code == 500
