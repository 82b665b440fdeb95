"""The codec endpoint (``/codec``, MADOGUCHI_CODEC_ENDPOINT=true) decrypts case payloads for
the Temporal UI: only an operator may use it, and browsers only from the UI's origin.

The app itself authenticates it (portal/codec_endpoint.py), whatever proxy stands in
front.
"""

from __future__ import annotations

import json

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from madoguchi.runtime import Runtime
from madoguchi.serve import build_web_app
from madoguchi.settings import load_settings
from workflows.codec import EncryptionCodec

SECRET = {"name": "山田 太郎", "phone": "0312345678"}


@pytest.fixture
def codec(tmp_path):
    settings = load_settings(data_dir=str(tmp_path), codec_endpoint=True)
    app = build_web_app(settings)
    runtime = Runtime(settings)
    return app, runtime


async def _sealed_body(runtime) -> str:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(SECRET).encode())
    sealed = await EncryptionCodec(runtime.data.payload_keys()).encode([plain])
    assert SECRET["phone"].encode() not in sealed[0].data
    return json_format.MessageToJson(Payloads(payloads=sealed))


async def _decode(app, body: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://web"
    ) as http:
        return await http.post(
            "/codec/decode",
            content=body,
            headers={"Content-Type": "application/json", "X-Namespace": "default", **headers},
        )


def _token(runtime, kind: str) -> dict[str, str]:
    issuer = runtime.dev_issuer()
    if kind == "resident":
        token = issuer.issue_resident("codec-r", "住民 一")
    elif kind == "caseworker":
        token = issuer.issue_caseworker("codec-cw", ["131016"], ["reviewer", "approver"])
    else:
        # An operator of every municipality served: payloads naming none are shown too.
        token = issuer.issue_caseworker("codec-op", sorted(runtime.municipalities),
                                        ["operator"])
    return {"Authorization": f"Bearer {token}"}


async def test_the_codec_endpoint_is_mounted_and_decrypts_for_an_operator(codec):
    app, runtime = codec
    reply = await _decode(app, await _sealed_body(runtime), _token(runtime, "operator"))
    assert reply.status_code == 200
    (plain,) = json_format.Parse(reply.text, Payloads()).payloads
    assert json.loads(plain.data) == SECRET


FORGED = "eyJhbGciOiJub25lIn0.eyJyb2xlcyI6WyJvcGVyYXRvciJdfQ."


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("forged", 401), ("resident", 403), ("caseworker", 403)]
)
async def test_only_operators_may_decode(codec, who, status):
    app, runtime = codec
    headers = {"anonymous": {}, "forged": {"Authorization": f"Bearer {FORGED}"}}.get(who)
    reply = await _decode(
        app, await _sealed_body(runtime), headers if headers is not None else _token(runtime, who)
    )
    assert SECRET["phone"] not in reply.text
    assert reply.status_code == status


async def test_no_cors_grant_for_another_site(codec):
    app, _ = codec
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://web"
    ) as http:
        preflight = await http.options(
            "/codec/decode",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
            },
        )
    assert preflight.headers.get("access-control-allow-origin") in (None, "")
    assert "evil.example" not in preflight.headers.get("access-control-allow-origin", "")


@pytest.mark.parametrize("kind", ["plain", "forged"])
async def test_a_payload_madoguchi_did_not_seal_shows_as_refused(codec, kind):
    """Issue #15: forged plain JSON in a history must not look like case data in the UI."""
    app, runtime = codec
    forged = {"action": "approve", "actor": {"kind": "caseworker", "subject": "cw-made-up"}}
    if kind == "plain":
        payload = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(forged).encode())
    else:
        key_id = runtime.data.payload_keys().active.encode()
        payload = Payload(metadata={"encoding": b"binary/encrypted", "encryption-key-id": key_id},
                          data=json.dumps(forged).encode())
    body = json_format.MessageToJson(Payloads(payloads=[payload]))
    reply = await _decode(app, body, _token(runtime, "operator"))
    assert reply.status_code == 200
    (shown,) = json_format.Parse(reply.text, Payloads()).payloads
    notice = json.loads(shown.data)
    assert notice["madoguchi"] == "refused"
    assert notice["reason"] == ("not_encrypted" if kind == "plain" else "bad_ciphertext")
    assert "cw-made-up" not in reply.text and notice["message"]["ja"]


@pytest.mark.parametrize(("operator_of", "payload", "shown"), [
    (["131016"], {"municipality": "131016", "data": SECRET}, True),
    (["131016"], {"municipality": "141003", "data": SECRET}, False),
    (["131016"], {"view": {"municipality": "141003", "data": SECRET}}, False),
    (["131016"], SECRET, False),  # names no municipality: only for an operator of all
    (["131016", "141003"], SECRET, True),
])
async def test_an_operator_sees_only_their_municipalities(codec, operator_of, payload, shown):
    """Issue #15: the operator role decrypted every municipality's cases."""
    app, runtime = codec
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(payload).encode())
    sealed = await EncryptionCodec(runtime.data.payload_keys()).encode([plain])
    token = runtime.dev_issuer().issue_caseworker("codec-op2", operator_of, ["operator"])
    reply = await _decode(app, json_format.MessageToJson(Payloads(payloads=sealed)),
                          {"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    (out,) = json_format.Parse(reply.text, Payloads()).payloads
    if shown:
        assert json.loads(out.data) == payload
    else:
        assert SECRET["phone"] not in reply.text
        assert json.loads(out.data)["reason"] == "outside_scope"
