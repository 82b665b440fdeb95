"""The printable receipt (#19), without a browser: a filed 罹災証明書's 申請控え page shows
the reference, what was filed, and the sealed copy issued at submission with a QR code
(an SVG) and the address of its public verify page, which answers; it is linked from the
application page; another resident cannot open it."""

from __future__ import annotations

import re

from tests.support.pages import signed_in
from tests.support.stack import documents_of, eventually
from tests.support.wizard_pages import EXAMPLE


async def test_the_receipt_shows_the_sealed_copy_with_its_qr_and_verify_address(stack):
    owner = stack.resident("demo-1", "山田 太郎")
    created = await stack.http.post("/api/applications", headers=owner, json={
        "procedure": "disaster-certificate", "municipality": "131016", "data": EXAMPLE})
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]

    async def copy_issued():
        view = (await stack.http.get(f"/api/applications/{app_id}", headers=owner)).json()
        return documents_of(view, "application-copy")

    copy = (await eventually(copy_issued))[0]
    async with signed_in(stack) as http:
        page = await http.get(f"/my/applications/{app_id}")
        assert f'href="/my/applications/{app_id}/receipt"' in page.text
        receipt = await http.get(f"/my/applications/{app_id}/receipt")
        assert receipt.status_code == 200, receipt.text
        html = receipt.text
        assert "<h1>申請控え</h1>" in html and app_id in html
        assert EXAMPLE["damage"]["description"] in html  # what was filed
        assert f'href="/my/documents/{copy["id"]}"' in html
        url = re.search(r'<span class="receipt__url">([^<]+)</span>', html).group(1)
        assert url.endswith(f"/verify/{copy['id']}")
        assert re.search(r'<div class="receipt__qr"><svg[^>]*viewBox', html)
        verify = await http.get(url.replace("http://portal", ""))
        assert verify.status_code == 200
        english = await http.get(f"/my/applications/{app_id}/receipt?lang=en")
        assert "Receipt of your application" in english.text
    async with signed_in(stack, "demo-elderly") as other:
        refused = await other.get(f"/my/applications/{app_id}/receipt")
        assert refused.status_code in (403, 404)
        assert EXAMPLE["damage"]["description"] not in refused.text
