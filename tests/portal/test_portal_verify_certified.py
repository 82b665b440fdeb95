"""The public verify page shows what a document certifies (number, grade, masked address)
so a holder of a paper copy can compare it, in one language at a time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from forms.catalog import Catalog
from identity.devissuer import DevIssuer
from identity.verify import TokenVerifier
from portal.app import create_app
from portal.deps import PortalContext
from records.blobs import LocalBlobStore
from records.db import create_schema, make_engine
from records.inbox import InboxStore
from records.numbering import DocumentNumbers
from records.register import CertifiedValue, DocumentRegister, IssuedDocument

DOC_ID = "DOC-CERTIFIED0123456789"
MASKED = "東京都千代田区 ＊＊＊"


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    engine = make_engine(f"sqlite:///{tmp_path / 'madoguchi.db'}")
    create_schema(engine)
    register = DocumentRegister(engine)
    DocumentNumbers(engine).allocate(DOC_ID, municipality="131016", series="千代田-罹",
                                     year=2026)
    register.record(IssuedDocument(
        id=DOC_ID, application_id="APP-1", procedure="disaster-certificate",
        procedure_version="1.3.0", municipality="131016", document_type="certificate",
        title={"ja": "罹災証明書", "en": "Disaster damage certificate"},
        filename="risai-shomeisho.pdf", sha256="0" * 64, size=1,
        blob_key=f"documents/{DOC_ID}.pdf", issued_at=datetime(2026, 11, 26, 1, 30, tzinfo=UTC),
        holder_masked="山田 ＊＊＊",
        certified=[
            CertifiedValue(label={"ja": "住家の被害の程度", "en": "Damage grade"},
                           value={"ja": "大規模半壊", "en": "Large-scale half destruction"}),
            CertifiedValue(
                label={"ja": "被災住家の所在地", "en": "Location of the damaged dwelling"},
                value={"ja": MASKED, "en": MASKED}),
        ],
    ))
    dev_issuer = DevIssuer.load_or_create(tmp_path / "keys")
    context = PortalContext(
        cases=None,  # type: ignore[arg-type]  # the verify page never touches cases
        verifier=TokenVerifier(dev_issuer.trusted_issuers()),
        inbox=InboxStore(engine), register=register, blobs=LocalBlobStore(tmp_path / "blobs"),
        catalog=Catalog.load(), trust_roots=[], tsa=None,
    )
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = context
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://portal") as client:
        yield client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_japanese_page_shows_number_and_certified_values(http: httpx.AsyncClient) -> None:
    response = await http.get(f"/verify/{DOC_ID}")
    assert response.status_code == 200
    text = _text(response.text)
    assert "発行番号 第 千代田-罹-2026-000001 号" in text
    assert "証明された内容" in text
    assert "住家の被害の程度 大規模半壊" in text
    assert f"被災住家の所在地 {MASKED}" in text
    # One language at a time: no English labels or values on the Japanese page.
    for english in ("Damage grade", "Large-scale half destruction", "What it certifies"):
        assert english not in text


async def test_english_page_shows_the_same_in_english(http: httpx.AsyncClient) -> None:
    text = _text((await http.get(f"/verify/{DOC_ID}?lang=en")).text)
    assert "What it certifies" in text
    assert "Damage grade Large-scale half destruction" in text
    assert "Municipal number 第 千代田-罹-2026-000001 号" in text
    for japanese in ("住家の被害の程度", "大規模半壊", "証明された内容"):
        assert japanese not in text


async def test_status_api_carries_the_values_and_no_more(http: httpx.AsyncClient) -> None:
    body = (await http.get(f"/api/documents/{DOC_ID}/status")).json()
    assert body["number"] == "千代田-罹-2026-000001"
    assert {v["label"]["en"] for v in body["certified"]} == {
        "Damage grade", "Location of the damaged dwelling"}
    assert "永田町" not in str(body) and "太郎" not in str(body)
