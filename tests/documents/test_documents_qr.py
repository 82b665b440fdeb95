"""The verify QR code's image: the same pixels segno itself draws, in 8-bit grey."""

from __future__ import annotations

import base64
import io
import re

import pytest
import segno
from PIL import Image, ImageChops

from documents.qr import BORDER, SCALE, qr_svg

URLS = [
    "https://madoguchi.example.lg.jp/verify/DOC-2026-131016-000123",
    "x",
    "https://madoguchi.example.lg.jp/verify/" + "Z9-" * 90,  # a large version
]


@pytest.mark.parametrize("url", URLS)
def test_the_image_has_segnos_modules_and_quiet_zone(url: str) -> None:
    svg = qr_svg(url, title=url)
    href = re.search(r'href="data:image/png;base64,([^"]+)"', svg)
    assert href is not None, svg[:200]
    image = Image.open(io.BytesIO(base64.b64decode(href.group(1))))
    reference = io.BytesIO()
    segno.make_qr(url, error="m", boost_error=False).save(
        reference, kind="png", border=BORDER, scale=SCALE)
    expected = Image.open(reference).convert("L")
    assert image.mode == "L"
    assert image.size == expected.size
    assert ImageChops.difference(image, expected).getbbox() is None  # no pixel differs
    size = expected.width // SCALE
    assert f'viewBox="0 0 {size} {size}"' in svg
