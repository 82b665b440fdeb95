"""Temporal's remote codec protocol (``POST /decode``, ``/encode``) for the Temporal UI.

It decrypts case payloads, so it answers only operators: a verified caseworker token with
the ``operator`` role (the UI forwards the operator's access token when configured with
``codec.passAccessToken``), and only the configured UI origin may call it from a browser.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from identity.errors import IdentityError, TokenInvalid
from identity.principals import Caseworker
from identity.verify import TokenVerifier
from workflows.codec import EncryptionCodec, KeyRing

OPERATOR_ROLE = "operator"


def codec_app(ring: KeyRing, verifier: TokenVerifier, *, ui_origin: str | None = None) -> FastAPI:
    codec = EncryptionCodec(ring)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    if ui_origin:
        app.add_middleware(CORSMiddleware, allow_origins=[ui_origin], allow_methods=["POST"],
                           allow_headers=["authorization", "content-type", "x-namespace"],
                           allow_credentials=True)

    def _refusal(request: Request) -> Response | None:
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
        return None

    async def _apply(request: Request, decode: bool) -> Response:
        refused = _refusal(request)
        if refused is not None:
            return refused
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except json_format.ParseError:
            return Response('{"error": "bad_payloads"}', status_code=400,
                            media_type="application/json")
        items = list(payloads.payloads)
        done = await (codec.decode(items) if decode else codec.encode(items))
        return Response(json_format.MessageToJson(Payloads(payloads=done)),
                        media_type="application/json")

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await _apply(request, True)

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await _apply(request, False)

    return app
