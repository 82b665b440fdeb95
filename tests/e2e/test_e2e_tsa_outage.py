"""The timestamp authority down: documents wait and retry with backoff, the caseworker sees
why, nothing is lost; when the TSA answers again the case goes on (issue 8)."""

from __future__ import annotations

import asyncio

import uvicorn

from documents.issuer import development_issuer
from documents.seal import load_pem_certificates
from documents.timestamps import LocalTimestampAuthority
from forms.municipalities import load_municipalities
from madoguchi.up import free_port
from tests.support.filing import APPS, example, filing, issued
from tests.support.stack import SealedDocuments, documents_of, eventually, running_stack


async def test_documents_wait_for_a_tsa_that_is_down_and_go_on_when_it_is_back(
        dev_env, tmp_path, catalog, renderer):
    port = free_port()  # nothing listens here until the TSA comes back
    names = {code: m.name.ja for code, m in load_municipalities().items()}
    issuer, pki = development_issuer(renderer, tmp_path / "pki", names, "http://portal",
                                     tsa_url=f"http://127.0.0.1:{port}/tsa")
    documents = SealedDocuments(issuer, load_pem_certificates(pki.root_cert_path.read_bytes()),
                                LocalTimestampAuthority.from_pki(pki))
    (tmp_path / "data").mkdir()
    async with running_stack(dev_env.client, tmp_path / "data", catalog, documents) as stack:
        http, resident = stack.http, stack.resident("tsa-1", "時刻 待子")
        caseworker = stack.caseworker("cw-1")
        data = example(catalog)
        filed = await http.post(APPS, json=filing(data), headers=resident)
        assert filed.status_code == 201, filed.text
        app_id = filed.json()["id"]

        async def retrying():
            body = (await http.get(f"{APPS}/{app_id}", headers=caseworker)).json()
            waits = [w for w in body["waiting_on"] if w["activity"] == "issue_document"]
            return waits if waits and waits[0]["attempt"] >= 3 else None

        (waiting,) = await eventually(retrying, timeout=40)
        assert "timestamp service" in waiting["reason"], waiting
        assert waiting["next_attempt_at"], "the caseworker sees when it tries again"
        view = (await http.get(f"{APPS}/{app_id}", headers=resident)).json()
        assert documents_of(view, "application-copy") == [] and view["status"] == "in_progress"

        # The TSA comes back (the portal's own development TSA, on the port the seals use).
        server = uvicorn.Server(uvicorn.Config(http._transport.app, host="127.0.0.1", port=port,
                                               log_level="error", lifespan="off"))
        serving = asyncio.create_task(server.serve())
        try:
            done = await eventually(
                lambda: issued(http, app_id, resident, kind="application-copy"), timeout=60)
            (copy_ref,) = documents_of(done, "application-copy")
            pdf = (await http.get(copy_ref["url"], headers=resident)).content
            verdict = await http.post("/api/verify",
                                      files={"file": ("c.pdf", pdf, "application/pdf")})
            assert verdict.json()["status"] == "valid", verdict.text
            async def receipt():  # sent once the copy is stored, in the background
                inbox = (await http.get("/api/inbox", headers=resident)).json()
                return [e["event"] for e in inbox if e["application_id"] == app_id]

            assert await eventually(receipt) == ["submitted"]
        finally:
            server.should_exit = True
            await serving
            await stack.client.get_workflow_handle(app_id).terminate("test over")
