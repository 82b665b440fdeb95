"""Identity at the HTTP edge: refusals a real installation (the `stack` fixture) gives."""

from __future__ import annotations

import json
from typing import Any

from forms.catalog import Catalog

APPS = "/api/applications"


def _filing(catalog: Catalog) -> dict[str, Any]:
    directory = catalog.get("disaster-certificate").directory / "examples"
    data = json.loads((directory / "valid-basic.json").read_text(encoding="utf-8"))
    return {"procedure": "disaster-certificate", "municipality": "131016", "data": data}


async def test_caseworker_of_another_municipality_and_resident_on_caseworker_action(stack, catalog):
    http = stack.http
    resident = stack.resident("demo-http-1")
    created = await http.post(APPS, json=_filing(catalog), headers=resident)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]

    # A Yokohama (141003) caseworker holding every role, on a Chiyoda (131016) case:
    # refused as if the case did not exist (its existence is not revealed).
    yokohama = stack.caseworker("cw-yokohama", municipality="141003")
    for reply in (
        await http.post(f"{APPS}/{app_id}/actions", json={"action": "accept"}, headers=yokohama),
        await http.get(f"{APPS}/{app_id}", headers=yokohama),
    ):
        assert reply.status_code == 404, reply.text
        assert reply.json()["error"] == "not_found"
        assert "131016" not in reply.text

    # The resident's own token on a caseworker's action: 403 caseworker_only.
    refused = await http.post(
        f"{APPS}/{app_id}/actions", json={"action": "accept"}, headers=resident
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "caseworker_only"
    assert set(refused.json()["message"]) == {"ja", "en"}
    queue = await http.get("/api/queue", headers=resident)
    assert queue.status_code == 403 and queue.json()["error"] == "caseworker_only"

    # Nothing happened to the case; the right caseworker can still act.
    chiyoda = stack.caseworker("cw-chiyoda", roles="reviewer", municipality="131016")
    accepted = await http.post(
        f"{APPS}/{app_id}/actions", json={"action": "accept"}, headers=chiyoda
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["stage"] == "survey"


async def test_bad_tokens_get_401_without_detail(stack):
    good = stack.issuer.issue_resident("demo-http-2", "山田 太郎")
    header, payload, _ = good.split(".")
    cases = {
        "none": f"{header}.{payload}.",
        "garbage": "not-a-token",
        "jwe": "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aaaa.bbbb.cccc",
        "huge": "a" * (1024 * 1024),
    }
    for name, token in cases.items():
        reply = await stack.http.get(APPS, headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401, (name, reply.text)
        body = reply.json()
        assert body["error"] == "unauthenticated" and body["details"] is None
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        for leak in ("kid", "alg", "JWE", "segment", "base64", "bytes"):
            assert leak not in json.dumps(body, ensure_ascii=False), (name, leak)
    missing = await stack.http.get(APPS)
    assert missing.status_code == 401
