"""The public verify page and API: anyone can check an issued document, no login.

- ``GET /verify`` and ``GET /verify/{document_id}``: a standalone HTML page (Japanese,
  ``?lang=en`` for English) saying what was issued, to whom (masked), when, by which
  municipality, and whether it is still valid, revoked or superseded; with a form to
  upload the PDF for a cryptographic check. Works without JavaScript.
- ``POST /verify``: the form's target (multipart ``file``): the same page with the verdict.
- ``POST /api/verify``: the same check as JSON (multipart ``file``, or a raw
  ``application/pdf`` body).
- ``GET /api/documents/{document_id}/status``: what the register says, as JSON.
- ``POST /tsa``: the development RFC 3161 timestamp authority, when this installation runs
  one (``application/timestamp-query`` → ``application/timestamp-reply``).

The seal check (``services.documents``) runs in a child process with CPU, memory and time
limits (:mod:`documents.bounded`; a hostile upload is answered 422 ``cannot_check``) and
never fetches anything from the network.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from documents.timestamps import TIMESTAMP_QUERY, TIMESTAMP_REPLY
from documents.verify import MESSAGES
from documents.wareki import JST, format_wareki
from portal.deps import App, Context
from portal.errors import ErrorBody
from portal.links import verify_link
from portal.statuses import status_of
from portal.uploads import TooLarge, declared_too_large, read_file_part
from portal.web.render import environment
from services.documents import (
    MAX_CHECK_BYTES,
    CheckResult,
    PublicDocument,
    file_missing,
    file_too_large,
)
from services.refusals import Refused

router = APIRouter(tags=["verify"])


async def _read_upload(request: Request) -> bytes:
    """The uploaded PDF: multipart field ``file`` or a raw body, streamed and refused as
    soon as it passes the size limit (never read to its end)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            return (await read_file_part(request, MAX_CHECK_BYTES)).data
        except TooLarge:
            raise file_too_large() from None
        except Refused as exc:
            if exc.code == "no_file":
                raise file_missing() from None
            raise
    if declared_too_large(request, MAX_CHECK_BYTES):
        raise file_too_large()
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_CHECK_BYTES:
            raise file_too_large()
    return bytes(data)


# -- page --------------------------------------------------------------------------------------


def _lang(value: str | None) -> Literal["ja", "en"]:
    return "en" if value == "en" else "ja"


def _when(value: datetime | None, lang: str) -> str:
    if value is None:
        return ""
    local = value.astimezone(JST)
    if lang == "en":
        return local.strftime("%d %B %Y, %H:%M (Japan time)")
    return f"{format_wareki(local.date())}（{local:%Y年%-m月%-d日}）{local:%H:%M}"


def _page(request: Request, *, lang: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    template = environment().get_template("verify/page.html")
    html = template.render(
        lang=lang,
        other_lang="en" if lang == "ja" else "ja",
        when=lambda v: _when(v, lang),
        messages=MESSAGES,
        form_action=str(request.url_for("verify_upload_page")),
        page_url=str(request.url.remove_query_params("lang")),
        max_mb=MAX_CHECK_BYTES // (1024 * 1024),
        **{"document": None, "result": None, "error": None, "not_found": False, **values},
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/verify", response_class=HTMLResponse, name="verify_form")
async def verify_form(request: Request, lang: str | None = None) -> HTMLResponse:
    """The public verify page without a document: the upload form."""
    return _page(request, lang=_lang(lang))


_HTML_REFUSALS = {c: {"content": {"text/html": {}}} for c in (404, 413, 422, 503)}


@router.get("/verify/{document_id}", response_class=HTMLResponse, name="verify_page",
            responses=_HTML_REFUSALS)
async def verify_page(
    document_id: str, request: Request, app: App, lang: str | None = None
) -> HTMLResponse:
    """The public verify page of one issued document (the QR code leads here)."""
    document = app.documents.find_public(document_id, verify_link(request))
    if document is None:
        return _page(
            request, lang=_lang(lang), status_code=404, not_found=True, document_id=document_id
        )
    return _page(request, lang=_lang(lang), document=document)


@router.post("/verify", response_class=HTMLResponse, name="verify_upload_page",
             responses=_HTML_REFUSALS)
async def verify_upload_page(
    request: Request, app: App, lang: str | None = None
) -> HTMLResponse:
    """The upload form's target: the verify page with the verdict on the uploaded file."""
    language = _lang(lang)
    try:
        data = await _read_upload(request)
        result = await app.documents.check(data, verify_link(request))
    except Refused as exc:
        return _page(request, lang=language, status_code=status_of(exc), error=exc.message)
    return _page(request, lang=language, result=result, document=result.document)


# -- JSON API ----------------------------------------------------------------------------------


@router.post(
    "/api/verify",
    response_model=CheckResult,
    responses={c: {"model": ErrorBody} for c in (413, 422, 503)},
)
async def verify_api(request: Request, app: App) -> CheckResult:
    """Check an uploaded PDF's seal and timestamp, and its status in the register."""
    return await app.documents.check(await _read_upload(request), verify_link(request))


@router.get(
    "/api/documents/{document_id}/status",
    response_model=PublicDocument,
    responses={404: {"model": ErrorBody}},
)
async def document_status(document_id: str, request: Request, app: App) -> PublicDocument:
    """What the register says about an issued document (public; the holder is masked)."""
    return app.documents.public(document_id, verify_link(request))


# -- development TSA -----------------------------------------------------------------------------


@router.post(
    "/tsa",
    response_class=Response,
    tags=["operations"],
    responses={200: {"content": {TIMESTAMP_REPLY: {}}},
               **{c: {"model": ErrorBody} for c in (404, 413, 415)}},
)
async def timestamp_authority(request: Request, context: Context) -> Response:
    """The development RFC 3161 timestamp authority (404 when this server runs none)."""
    tsa = context.tsa
    if tsa is None:
        raise Refused("not_found", "not_found", "見つかりません。", "Not found.")
    if request.headers.get("content-type", "").split(";")[0].strip() != TIMESTAMP_QUERY:
        raise Refused(
            "unsupported",
            "unsupported_media_type",
            f"{TIMESTAMP_QUERY} で送ってください。",
            f"Send {TIMESTAMP_QUERY}.",
        )
    body = await request.body()
    if len(body) > 64 * 1024:
        raise Refused(
            "too_large", "request_too_large", "リクエストが大きすぎます。",
            "The request is too large."
        )
    reply = await run_in_threadpool(tsa.respond, body)
    return Response(reply, media_type=TIMESTAMP_REPLY)
