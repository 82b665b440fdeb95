"""The public verify page names the issuing municipality from the configured catalogue: a
municipality added through MADOGUCHI_CATALOG_DIR (and one added by a reload) is named, not
shown as its code (issue #14: the page read the packaged municipalities only)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from forms.catalog import DEFAULT_ROOT, Catalog
from identity.devissuer import DevIssuer
from identity.verify import TokenVerifier
from portal.app import create_app
from portal.deps import PortalContext
from records.blobs import LocalBlobStore
from records.db import create_schema, make_engine
from records.inbox import InboxStore
from records.register import DocumentRegister, IssuedDocument

CODE = "012025"  # 北海道小樽市: not in the packaged catalogue


def _add_municipality(root: Path) -> None:
    folder = root / "municipalities" / CODE
    folder.mkdir(parents=True)
    entry = {"code": CODE, "name": {"ja": "小樽市", "en": "Otaru City"}, "prefecture": "北海道"}
    (folder / "municipality.json").write_text(json.dumps(entry, ensure_ascii=False), "utf-8")


async def test_the_verify_page_names_a_municipality_of_the_catalogue_dir(tmp_path: Path):
    extra = tmp_path / "catalog"
    extra.mkdir()
    catalog = Catalog.load(DEFAULT_ROOT, extra)
    engine = make_engine(f"sqlite:///{tmp_path / 'madoguchi.db'}")
    create_schema(engine)
    register = DocumentRegister(engine)
    register.record(IssuedDocument(
        id="DOC-OTARU-0000000000000001", application_id="app-x", document_type="certificate",
        title={"ja": "罹災証明書", "en": "Disaster certificate"}, municipality=CODE,
        procedure="disaster-certificate", procedure_version="1.2.0",
        issued_at=datetime.now(UTC), sha256="0" * 64, blob_key="documents/x/y",
        filename="c.pdf", size=1, holder_masked="山田 ＊＊＊"))
    context = PortalContext(
        cases=None, verifier=TokenVerifier(DevIssuer.load_or_create(tmp_path).trusted_issuers()),
        inbox=InboxStore(engine), register=register, blobs=LocalBlobStore(tmp_path / "blobs"),
        catalog=catalog)
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = context
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://portal") as http:
        before = (await http.get("/api/documents/DOC-OTARU-0000000000000001/status")).json()
        assert before["municipality"]["name"] == {"ja": CODE, "en": CODE}  # not served yet
        _add_municipality(extra)
        catalog.reload()
        page = await http.get("/verify/DOC-OTARU-0000000000000001")
        status = (await http.get("/api/documents/DOC-OTARU-0000000000000001/status")).json()
    assert page.status_code == 200 and "小樽市" in page.text
    assert status["municipality"]["name"] == {"ja": "小樽市", "en": "Otaru City"}
