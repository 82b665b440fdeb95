"""One place that turns domain errors into HTTP answers.

Every error body has the same shape: ``{"error": code, "message": {"ja", "en"}, "details"}``.
A use case's refusal (:class:`services.refusals.Refused`) gets its status from its kind,
in :data:`STATUS_OF_KIND`; pages use the same table (:func:`status_of`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from forms import pointers
from identity.errors import IdentityError
from portal.statuses import BUSY_RETRY_AFTER, retry_after_header, status_of
from portal.web.render import html_error
from services.refusals import EngineBusy, Refused

log = logging.getLogger("madoguchi.portal")


class ErrorBody(BaseModel):
    error: str
    message: dict[str, str]
    details: Any = None


def error_response(
    status: int,
    code: str,
    ja: str,
    en: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(error=code, message={"ja": ja, "en": en}, details=details)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


#: Answers of the workflow service that mean "later", not "wrong": server restarting or
#: unreachable, a query that timed out (its worker busy or restarting), rate limited.
ENGINE_BUSY = frozenset({
    RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.CANCELLED,
})


def engine_busy(exc: RPCError) -> bool:
    """Whether the workflow service's answer means "later": one of :data:`ENGINE_BUSY`, or
    the connection dropped under the request (a server restart: UNKNOWN "transport error")."""
    if exc.status in ENGINE_BUSY:
        return True
    return exc.status == RPCStatusCode.UNKNOWN and "transport" in exc.message.lower()


def _busy(request: Request, why: str) -> Response:
    """503 with Retry-After. The workflow service is restarting or overloaded (a surge):
    reading again later will do; a change sent may have arrived, so look before resending."""
    log.warning("workflow service busy on %s %s: %s", request.method, request.url.path, why)
    headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
    page = html_error(request, 503)
    if page is not None:
        page.headers.update(headers)
        return page
    if request.method in ("GET", "HEAD"):
        ja = "送った内容は失われていません。"
        en = "nothing you sent has been lost."
    else:
        ja = ("送った内容は届いている場合があります。"
              "申請の状況を確かめてから、もう一度お試しください。")
        en = "what you sent may have arrived: check your application before sending it again."
    return error_response(
        503,
        "busy",
        f"ただいま混み合っています。{BUSY_RETRY_AFTER}秒ほど待ってください。{ja}",
        f"We are very busy right now. Please wait {BUSY_RETRY_AFTER} seconds; {en}",
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return error_response(
            status_of(exc), exc.code, exc.message["ja"], exc.message["en"], exc.details,
            headers=retry_after_header(exc),
        )

    @app.exception_handler(IdentityError)
    async def _identity_error(request: Request, exc: IdentityError) -> JSONResponse:
        log.info("token refused: %s", exc.code)  # the class only: tokens are secrets
        message = exc.public_message
        return error_response(
            401,
            "unauthenticated",
            message["ja"],
            message["en"],
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "path": pointers.to_pointer(err["loc"][1:]),
                "code": err["type"],
                "message": {"ja": "リクエストの形式が正しくありません。", "en": err["msg"]},
            }
            for err in exc.errors()
        ]
        return error_response(
            422,
            "invalid_request",
            "リクエストの形式が正しくありません。",
            "The request is not well formed.",
            details,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        page = html_error(request, exc.status_code)  # a person's browser gets a page
        if page is not None:
            return page
        if exc.status_code == 400:  # e.g. a body that is not JSON: malformed like any other
            return error_response(422, "invalid_request", "リクエストの形式が正しくありません。",
                                  "The request body is not valid JSON.")
        if exc.status_code == 404:
            return error_response(404, "not_found", "見つかりません。", "Not found.")
        if exc.status_code == 405:
            return error_response(
                405, "method_not_allowed", "この操作はできません。", "Method not allowed."
            )
        return error_response(
            exc.status_code, "http_error", "エラーが発生しました。", str(exc.detail)
        )

    @app.exception_handler(RPCError)
    async def _engine_error(request: Request, exc: RPCError) -> Response:
        if not engine_busy(exc):
            return await _unexpected(request, exc)
        return _busy(request, exc.status.name if exc.status else "?")

    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def _engine_timeout(request: Request, exc: RPCTimeoutOrCancelledError) -> Response:
        return _busy(request, "timeout")

    @app.exception_handler(EngineBusy)
    async def _engine_slow(request: Request, exc: EngineBusy) -> Response:
        return _busy(request, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        page = html_error(request, 500)
        if page is not None:
            return page
        return error_response(
            500,
            "internal_error",
            "システムで問題が起きました。時間をおいて、もう一度お試しください。",
            "Something went wrong on our side. Please try again later.",
        )
