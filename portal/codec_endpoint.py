"""Temporal's remote codec protocol (``POST /decode``, ``/encode``) for the Temporal UI.

It decrypts case payloads, so it answers only operators: a verified caseworker token with
the ``operator`` role (the UI forwards the operator's access token when configured with
``codec.passAccessToken``), and only the configured UI origin may call it from a browser.

An operator sees only their own municipalities' data: a decrypted payload that names a
``municipality`` (a case's start, its view, a document or notice input) is shown only to an
operator of that municipality, and one that names none (an activity's result, an action)
only to an operator of every municipality this installation serves. Anything else decodes
to a notice (``"reason": "outside_scope"``) instead.

A payload that madoguchi did not seal (plain JSON sent to the frontend by someone else, a
forged ciphertext, a key no longer in the ring) is not shown as it is: the operator would
take it for case data. It decodes to a notice in its place, a JSON object
``{"madoguchi": "refused", "reason": ..., "message": {"ja": ..., "en": ...}}``; the
worker refused the same payload (see workflows/codec.py). The raw payload stays in the
history for an investigation (``temporal workflow show --output json``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from identity.errors import IdentityError, TokenInvalid
from identity.principals import Caseworker
from identity.verify import TokenVerifier
from workflows.codec import EncryptionCodec, KeyRing, PayloadRefused

OPERATOR_ROLE = "operator"
OUT_OF_SCOPE_MESSAGE = {
    "ja": "この値は、あなたが担当する自治体のものではないため表示しません。",
    "en": "This value belongs to a municipality you are not an operator of; it is not shown.",
}
REFUSED_MESSAGE = {
    "ja": "この値は madoguchi が暗号化したものではないため、読み取らずに拒否しました。",
    "en": "This value was not encrypted by madoguchi; it was refused unread.",
}

logger = logging.getLogger(__name__)


def refusal_notice(reason: str, message: dict[str, str] = REFUSED_MESSAGE) -> Payload:
    """What the UI shows in place of a payload madoguchi did not seal, or may not show."""
    body = {"madoguchi": "refused", "reason": reason, "message": message}
    return Payload(metadata={"encoding": b"json/plain"},
                   data=json.dumps(body, ensure_ascii=False).encode())


def named_municipality(payload: Payload) -> str | None:
    """The ``municipality`` a decrypted JSON payload names (at its top level or one level
    down, as a case's view inside an answer), or None."""
    if payload.metadata.get("encoding") != b"json/plain":
        return None
    try:
        value = json.loads(payload.data)
    except ValueError:
        return None
    for node in (value, *(value.values() if isinstance(value, dict) else ())):
        if isinstance(node, dict) and isinstance(node.get("municipality"), str):
            return node["municipality"]
    return None


def codec_app(ring: KeyRing, verifier: TokenVerifier, *, ui_origin: str | None = None,
              municipalities: Collection[str] = ()) -> FastAPI:
    """The codec app; ``municipalities`` are those this installation serves."""
    codec = EncryptionCodec(ring)
    served = frozenset(municipalities)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    if ui_origin:
        app.add_middleware(CORSMiddleware, allow_origins=[ui_origin], allow_methods=["POST"],
                           allow_headers=["authorization", "content-type", "x-namespace"],
                           allow_credentials=True)

    def _operator(request: Request) -> Caseworker | Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise TokenInvalid("no bearer token")
            principal = verifier.verify(token.strip())
        except IdentityError:
            return Response('{"error": "unauthenticated"}', status_code=401,
                            media_type="application/json", headers={"WWW-Authenticate": "Bearer"})
        if not isinstance(principal, Caseworker) or OPERATOR_ROLE not in principal.roles:
            return Response('{"error": "operators_only"}', status_code=403,
                            media_type="application/json")
        return principal

    async def _apply(request: Request, decode: bool) -> Response:
        operator = _operator(request)
        if isinstance(operator, Response):
            return operator
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except json_format.ParseError:
            return Response('{"error": "bad_payloads"}', status_code=400,
                            media_type="application/json")
        items = list(payloads.payloads)
        done = _open_all(items, operator) if decode else await codec.encode(items)
        return Response(json_format.MessageToJson(Payloads(payloads=done)),
                        media_type="application/json")

    def _open_all(items: list[Payload], operator: Caseworker) -> list[Payload]:
        everywhere = bool(served) and served <= operator.municipalities
        out = []
        for item in items:
            try:
                opened = codec.open(item)
            except PayloadRefused as refused:
                logger.warning("codec endpoint: %s", refused)
                out.append(refusal_notice(refused.reason))
                continue
            place = named_municipality(opened)
            if (place in operator.municipalities) if place is not None else everywhere:
                out.append(opened)
            else:
                logger.info("codec endpoint: a payload outside operator %s's municipalities",
                            operator.subject)
                out.append(refusal_notice("outside_scope", OUT_OF_SCOPE_MESSAGE))
        return out

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await _apply(request, True)

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await _apply(request, False)

    return app
