"""The public verify page and API, revocation, and the development TSA over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asn1crypto import core, tsp
from pyhanko.sign.timestamps import HTTPTimeStamper

from documents.issuer import development_issuer, mask_name
from documents.render import DocumentRenderer
from documents.seal import Sealer, load_pem_certificates
from documents.timestamps import LocalTimestampAuthority
from documents.verify import verify_pdf
from forms.catalog import Catalog
from identity.devissuer import DevIssuer
from identity.verify import TokenVerifier
from madoguchi.up import free_port
from portal.app import create_app
from portal.deps import PortalContext
from records.blobs import LocalBlobStore
from records.db import create_schema, make_engine
from records.inbox import InboxStore
from records.register import DocumentRegister, IssuedDocument
from tests.support.pdfedits import update_info

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "forms/catalog/disaster-certificate/templates"
DOC_ID = "DOC-0123456789ABCDEF0123"
SAMPLE = (Path(__file__).resolve().parents[2]
          / "forms/catalog/disaster-certificate/examples/certificate-context.json")


CONTEXT: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
CONTEXT["document"]["id"] = DOC_ID


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("issued")
    renderer = DocumentRenderer()
    issuer, pki = development_issuer(
        renderer, base / "pki", {"131016": "千代田区"}, "http://portal"
    )
    other, _ = development_issuer(renderer, base / "other", {"131016": "千代田区"}, "http://portal")
    args = dict(document_id=DOC_ID, title="罹災証明書", municipality_code="131016")
    return {
        "pdf": issuer.issue(TEMPLATES, "certificate.html", CONTEXT, **args),
        "untrusted": other.issue(TEMPLATES, "certificate.html", CONTEXT, **args),
        "pki": pki,
        "renderer": renderer,
    }


class Portal:
    def __init__(
        self, http: httpx.AsyncClient, register: DocumentRegister, issuer: DevIssuer
    ) -> None:
        self.http, self.register, self.issuer = http, register, issuer

    def caseworker(self, municipality: str = "131016") -> dict[str, str]:
        token = self.issuer.issue_caseworker("cw-1", [municipality], ["approver"])
        return {"Authorization": f"Bearer {token}"}


def build_app(tmp_path: Path, issued: dict[str, Any]) -> tuple[Any, DocumentRegister, DevIssuer]:
    engine = make_engine(f"sqlite:///{tmp_path / 'madoguchi.db'}")
    create_schema(engine)
    register = DocumentRegister(engine)
    dev_issuer = DevIssuer.load_or_create(tmp_path / "keys")
    pki = issued["pki"]
    # The verify routes never touch cases: no Temporal needed for this app.
    context = PortalContext(
        cases=None,
        verifier=TokenVerifier(dev_issuer.trusted_issuers()),  # type: ignore[arg-type]
        inbox=InboxStore(engine),
        register=register,
        blobs=LocalBlobStore(tmp_path / "blobs"),
        catalog=Catalog.load(),
        trust_roots=load_pem_certificates(pki.root_cert_path.read_bytes()),
        tsa=LocalTimestampAuthority.from_pki(pki),
    )
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = context
    return app, register, dev_issuer


@pytest.fixture
async def portal(tmp_path: Path, issued: dict[str, Any]) -> AsyncIterator[Portal]:
    app, register, dev_issuer = build_app(tmp_path, issued)
    pdf = issued["pdf"]
    register.record(
        IssuedDocument(
            id=DOC_ID,
            application_id="APP-1",
            procedure="disaster-certificate",
            procedure_version="1",
            municipality="131016",
            document_type="certificate",
            title={"ja": "罹災証明書", "en": "Disaster damage certificate"},
            filename="certificate.pdf",
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
            blob_key=f"documents/{DOC_ID}.pdf",
            issued_at=datetime(2026, 11, 26, 1, 30, tzinfo=UTC),
            holder_masked=mask_name("山田", "太郎"),
        )
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://portal"
    ) as http:
        yield Portal(http, register, dev_issuer)


def upload(data: bytes) -> dict[str, Any]:
    return {"files": {"file": ("certificate.pdf", data, "application/pdf")}}


def flip(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 4] ^= 0x01
    return bytes(out)


def test_mask_name_rule() -> None:
    assert mask_name("山田", "太郎") == "山田 ＊＊＊"
    assert mask_name("佐藤", "ひかりこ") == "佐藤 ＊＊＊"  # length not revealed
    assert mask_name("山田 太郎") == "山田 ＊＊＊"
    assert mask_name("") == "＊＊＊"


async def test_verify_page_shows_the_record_without_login(portal: Portal) -> None:
    response = await portal.http.get(f"/verify/{DOC_ID}")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ja">' in html
    for expected in [
        "罹災証明書",
        DOC_ID,
        "山田 ＊＊＊",
        "千代田区",
        "有効",
        "令和8年11月26日",
        '<label for="file">',
        'enctype="multipart/form-data"',
    ]:
        assert expected in html, expected
    assert "太郎" not in html
    english = await portal.http.get(f"/verify/{DOC_ID}?lang=en")
    assert '<html lang="en">' in english.text and "Chiyoda City" in english.text
    missing = await portal.http.get("/verify/DOC-NOPE")
    assert missing.status_code == 404 and "見つかりません" in missing.text


async def test_status_api(portal: Portal) -> None:
    body = (await portal.http.get(f"/api/documents/{DOC_ID}/status")).json()
    assert body["status"] == "valid" and body["holder_masked"] == "山田 ＊＊＊"
    assert body["municipality"] == {
        "code": "131016",
        "name": {"ja": "千代田区", "en": "Chiyoda City"},
    }
    assert body["verify_url"] == f"http://portal/verify/{DOC_ID}"
    assert (await portal.http.get("/api/documents/DOC-NOPE/status")).status_code == 404


async def test_api_verify_valid_and_each_failure(portal: Portal, issued: dict[str, Any]) -> None:
    ok = (await portal.http.post("/api/verify", **upload(issued["pdf"]))).json()
    assert ok["status"] == "valid" and ok["same_file_as_issued"]
    assert ok["seal"]["trusted"] and ok["document"]["id"] == DOC_ID

    raw = await portal.http.post(
        "/api/verify", content=issued["pdf"], headers={"Content-Type": "application/pdf"}
    )
    assert raw.json()["status"] == "valid"

    tampered = (await portal.http.post("/api/verify", **upload(flip(issued["pdf"])))).json()
    assert tampered["status"] == "tampered" and tampered["document"] is None

    untrusted = (await portal.http.post("/api/verify", **upload(issued["untrusted"]))).json()
    assert untrusted["status"] == "unknown_issuer"

    nothing = (await portal.http.post("/api/verify", **upload(b"hello"))).json()
    assert nothing["status"] == "not_sealed"

    missing = await portal.http.post("/api/verify", files={"other": ("x", b"1")})
    assert missing.status_code == 422 and missing.json()["error"] == "file_missing"


async def test_an_info_only_update_is_tampered_and_not_the_issued_file(
    portal: Portal, issued: dict[str, Any]
) -> None:
    changed = update_info(issued["pdf"], "取消済み")
    body = (await portal.http.post("/api/verify", **upload(changed))).json()
    assert body["status"] == "tampered", body
    assert "metadata_changed_after_seal" in body["seal"]["problems"]
    assert body["same_file_as_issued"] is False and body["document"] is None
    page = (await portal.http.post("/verify", **upload(changed))).text
    assert "改ざんされています" in page
    assert "発行時に記録したファイルと完全に一致します" not in page
    # The issued file itself is the one the register recorded.
    same = (await portal.http.post("/verify", **upload(issued["pdf"]))).text
    assert "発行時に記録したファイルと完全に一致します" in same


async def test_upload_form_answers_in_plain_words(portal: Portal, issued: dict[str, Any]) -> None:
    good = await portal.http.post("/verify", **upload(issued["pdf"]))
    assert good.status_code == 200 and "有効" in good.text and "改ざんされていません" in good.text
    bad = await portal.http.post("/verify?lang=en", **upload(flip(issued["pdf"])))
    assert "Tampered" in bad.text and '<html lang="en">' in bad.text
    assert (
        "Unknown issuer"
        in (await portal.http.post("/verify?lang=en", **upload(issued["untrusted"]))).text
    )
    empty = await portal.http.post("/verify", files={"other": ("x", b"1")})
    assert empty.status_code == 422 and "PDF ファイルを選んでください" in empty.text


async def test_supersede_is_recorded_once(portal: Portal) -> None:
    now = datetime.now(UTC)
    pdf = b"%PDF"
    portal.register.record(
        IssuedDocument(
            id="DOC-NEW",
            application_id="APP-1",
            procedure="disaster-certificate",
            procedure_version="1",
            municipality="131016",
            document_type="certificate",
            title={"ja": "罹災証明書"},
            filename="c.pdf",
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=4,
            blob_key="documents/DOC-NEW.pdf",
            issued_at=now,
        )
    )
    first = portal.register.supersede(DOC_ID, by="DOC-NEW", reason="再調査", actor="system", at=now)
    assert (
        portal.register.supersede(DOC_ID, by="DOC-NEW", reason="再調査", actor="system", at=now)
        == first
    )
    body = (await portal.http.get(f"/api/documents/{DOC_ID}/status")).json()
    assert body["status"] == "superseded"
    assert body["status_change"]["superseded_by"] == "DOC-NEW"
    assert "actor" not in body["status_change"]  # who did it stays internal


async def test_tsa_over_http_with_pyhanko_http_timestamper(
    tmp_path: Path, issued: dict[str, Any]
) -> None:
    app, _, _ = build_app(tmp_path, issued)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        pki = issued["pki"]
        files = pki.seal_files("131016", "千代田区")
        sealer = Sealer.from_pem(
            files.key, files.cert, timestamper=HTTPTimeStamper(f"http://127.0.0.1:{port}/tsa")
        )
        unsealed = issued["renderer"].render_pdf(
            TEMPLATES, "certificate.html", CONTEXT, identifier="DOC-HTTP", title="罹災証明書"
        )
        sealed = await asyncio.to_thread(sealer.seal, unsealed, document_id="DOC-HTTP")
        roots = load_pem_certificates(pki.root_cert_path.read_bytes())
        verdict = await asyncio.to_thread(verify_pdf, sealed, roots)
        assert verdict.outcome == "valid" and verdict.timestamp_valid, verdict

        async with httpx.AsyncClient() as client:
            bad = await client.post(
                f"http://127.0.0.1:{port}/tsa",
                content=b"junk",
                headers={"Content-Type": "application/timestamp-query"},
            )
            assert bad.status_code == 200
            assert bad.headers["content-type"] == "application/timestamp-reply"
            # A status-only TimeStampResp (no token): SEQUENCE { PKIStatusInfo }.
            status = tsp.PKIStatusInfo.load(core.load(bad.content)[0].dump())
            assert status["status"].native == "rejection"
            assert status["fail_info"].native == {"bad_data_format"}
            wrong_type = await client.post(f"http://127.0.0.1:{port}/tsa", content=b"x")
            assert wrong_type.status_code == 415
    finally:
        server.should_exit = True
        await task
