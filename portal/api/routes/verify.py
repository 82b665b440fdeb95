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

The seal check runs in a child process with CPU, memory and time limits
(:mod:`documents.bounded`; a hostile upload is answered 422 ``cannot_check``) and never
fetches anything from the network.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AwareDatetime, BaseModel
from starlette.concurrency import run_in_threadpool

from documents.bounded import DocumentUncheckable, shared_verifier
from documents.timestamps import TIMESTAMP_QUERY, TIMESTAMP_REPLY, LocalTimestampAuthority
from documents.verify import MESSAGES, OverallStatus, Verdict, overall_status
from documents.wareki import JST, format_wareki
from forms.municipalities import Municipality, load_municipalities
from portal.deps import Context
from portal.errors import ErrorBody
from portal.uploads import TooLarge, declared_too_large, read_file_part
from records.register import DocumentRegister, IssuedDocument
from workflows.cases import CaseError

log = logging.getLogger("madoguchi.portal")

router = APIRouter(tags=["verify"])

#: Largest upload accepted for a check. Issued certificates are ~60 KB.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


# -- response models -----------------------------------------------------------------------


class PublicStatusChange(BaseModel):
    status: Literal["revoked", "superseded"]
    reason: str
    at: AwareDatetime
    superseded_by: str | None = None


class PublicMunicipality(BaseModel):
    code: str
    name: dict[str, str]


class PublicDocument(BaseModel):
    """What anyone may know about an issued document (no personal data but the masked
    holder name)."""

    id: str
    document_type: str
    title: dict[str, str]
    municipality: PublicMunicipality
    issued_at: AwareDatetime
    holder_masked: str | None
    status: Literal["valid", "revoked", "superseded"]
    status_change: PublicStatusChange | None = None
    verify_url: str


class VerifyResponse(BaseModel):
    """The result of checking an uploaded file."""

    status: OverallStatus
    message: dict[str, str]
    seal: Verdict
    #: The register entry the file belongs to (by its exact bytes, or by the document id
    #: the valid seal names), if any.
    document: PublicDocument | None = None
    #: The file is byte for byte the one the register recorded at issue.
    same_file_as_issued: bool = False


# -- dependencies ----------------------------------------------------------------------------


def _trust_roots(request: Request, context: Context) -> list[Any]:
    roots = context.trust_roots
    if not roots:
        raise CaseError(
            "verification_unavailable",
            503,
            "この窓口では現在、電子公印を検証できません。",
            "Seal verification is not configured on this server.",
        )
    return list(roots)


def _local_tsa(request: Request, context: Context) -> LocalTimestampAuthority | None:
    return context.tsa


@functools.lru_cache(maxsize=1)
def _municipalities() -> dict[str, Municipality]:
    return load_municipalities()


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def public_document(
    doc: IssuedDocument, register: DocumentRegister, request: Request
) -> PublicDocument:
    municipality = _municipalities().get(doc.municipality)
    name = (
        municipality.name.model_dump()
        if municipality
        else {"ja": doc.municipality, "en": doc.municipality}
    )
    change = register.status_change(doc.id) if doc.status != "valid" else None
    return PublicDocument(
        id=doc.id,
        document_type=doc.document_type,
        title=doc.title,
        municipality=PublicMunicipality(code=doc.municipality, name=name),
        issued_at=doc.issued_at,
        holder_masked=doc.holder_masked,
        status=doc.status,
        status_change=None
        if change is None
        else PublicStatusChange(
            status=change.status,
            reason=change.reason,
            at=change.at,
            superseded_by=change.superseded_by,
        ),
        verify_url=str(request.url_for("verify_page", document_id=doc.id)),
    )


def _file_too_large() -> CaseError:
    return CaseError("file_too_large", 413, "ファイルが大きすぎます（20 MB まで）。",
                     "The file is too large (20 MB at most).")


def _file_missing() -> CaseError:
    return CaseError("file_missing", 422, "PDF ファイルを選んでください。",
                     "Choose a PDF file to check.")


async def _read_upload(request: Request) -> bytes:
    """The uploaded PDF: multipart field ``file`` or a raw body, streamed and refused as
    soon as it passes the size limit (never read to its end)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            return (await read_file_part(request, MAX_UPLOAD_BYTES)).data
        except TooLarge:
            raise _file_too_large() from None
        except CaseError as exc:
            if exc.code == "no_file":
                raise _file_missing() from None
            raise
    if declared_too_large(request, MAX_UPLOAD_BYTES):
        raise _file_too_large()
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_UPLOAD_BYTES:
            raise _file_too_large()
    if not data:
        raise _file_missing()
    return bytes(data)


async def _check(
    data: bytes, roots: list[Any], register: DocumentRegister, request: Request
) -> VerifyResponse:
    try:
        # In a child process with CPU, memory and time limits: the upload may be hostile.
        verdict = await run_in_threadpool(shared_verifier().verify, data, roots)
    except DocumentUncheckable as exc:
        log.info("verify upload: cannot check (%s)", exc.detail)
        code, status = ("verify_busy", 503) if exc.reason == "busy" else ("cannot_check", 422)
        raise CaseError(code, status, exc.message["ja"], exc.message["en"]) from None
    digest = hashlib.sha256(data).hexdigest()
    doc = register.by_sha256(digest)
    same_file = doc is not None
    if doc is None and verdict.ok and verdict.document_id:
        # Extended after issue (e.g. a later archival timestamp): found by the id its seal
        # names, which is trustworthy only because the seal is valid.
        doc = register.get(verdict.document_id)
    status = overall_status(verdict, doc.status if doc else None)
    # Only the register entry a genuine file belongs to is shown for an upload.
    public = public_document(doc, register, request) if doc is not None and verdict.ok else None
    log.info(
        "verify upload: outcome=%s status=%s document=%s",
        verdict.outcome,
        status,
        doc.id if doc else None,
    )
    return VerifyResponse(
        status=status,
        message=MESSAGES[status],
        seal=verdict,
        document=public,
        same_file_as_issued=same_file and verdict.ok,
    )


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
    template = _environment().get_template("verify/page.html")
    html = template.render(
        lang=lang,
        other_lang="en" if lang == "ja" else "ja",
        when=lambda v: _when(v, lang),
        messages=MESSAGES,
        form_action=str(request.url_for("verify_upload_page")),
        page_url=str(request.url.remove_query_params("lang")),
        max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
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
    document_id: str, request: Request, context: Context, lang: str | None = None
) -> HTMLResponse:
    """The public verify page of one issued document (the QR code leads here)."""
    doc = context.register.get(document_id)
    if doc is None:
        return _page(
            request, lang=_lang(lang), status_code=404, not_found=True, document_id=document_id
        )
    return _page(
        request, lang=_lang(lang), document=public_document(doc, context.register, request)
    )


@router.post("/verify", response_class=HTMLResponse, name="verify_upload_page",
             responses=_HTML_REFUSALS)
async def verify_upload_page(
    request: Request, context: Context, lang: str | None = None
) -> HTMLResponse:
    """The upload form's target: the verify page with the verdict on the uploaded file."""
    language = _lang(lang)
    try:
        data = await _read_upload(request)
        result = await _check(data, _trust_roots(request, context), context.register, request)
    except CaseError as exc:
        return _page(request, lang=language, status_code=exc.status, error=exc.message)
    return _page(request, lang=language, result=result, document=result.document)


# -- JSON API ----------------------------------------------------------------------------------


@router.post(
    "/api/verify",
    response_model=VerifyResponse,
    responses={c: {"model": ErrorBody} for c in (413, 422, 503)},
)
async def verify_api(request: Request, context: Context) -> VerifyResponse:
    """Check an uploaded PDF's seal and timestamp, and its status in the register."""
    data = await _read_upload(request)
    return await _check(data, _trust_roots(request, context), context.register, request)


@router.get(
    "/api/documents/{document_id}/status",
    response_model=PublicDocument,
    responses={404: {"model": ErrorBody}},
)
async def document_status(document_id: str, request: Request, context: Context) -> PublicDocument:
    """What the register says about an issued document (public; the holder is masked)."""
    doc = context.register.get(document_id)
    if doc is None:
        raise CaseError("not_found", 404, "書類が見つかりません。", "Document not found.")
    return public_document(doc, context.register, request)


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
    tsa = _local_tsa(request, context)
    if tsa is None:
        raise CaseError("not_found", 404, "見つかりません。", "Not found.")
    if request.headers.get("content-type", "").split(";")[0].strip() != TIMESTAMP_QUERY:
        raise CaseError(
            "unsupported_media_type",
            415,
            f"{TIMESTAMP_QUERY} で送ってください。",
            f"Send {TIMESTAMP_QUERY}.",
        )
    body = await request.body()
    if len(body) > 64 * 1024:
        raise CaseError(
            "request_too_large", 413, "リクエストが大きすぎます。", "The request is too large."
        )
    reply = await run_in_threadpool(tsa.respond, body)
    return Response(reply, media_type=TIMESTAMP_REPLY)
