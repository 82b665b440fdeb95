"""A warm renderer keeps parsed stylesheets and data: images between renders
(documents/render_cache.py): what it prints must be what a cold renderer prints — an
edited stylesheet is read again, the cascade keeps its order, each municipality's seal
stays its own, and a sheet with per-document at-rules is left to WeasyPrint."""

from __future__ import annotations

import base64
import io
import subprocess
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from documents.render import DocumentRenderer

PAGE = """<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>t</title>
<link rel="stylesheet" href="page.css"><style>{style}</style></head>
<body><div class="box"></div>{img}</body></html>"""


def _png(color: tuple[int, int, int]) -> str:
    """A seal-sized data: URL (large enough to be kept: a text chunk pads it)."""
    info = PngInfo()
    info.add_text("Comment", "x" * 8000)
    out = io.BytesIO()
    Image.new("RGB", (200, 200), color).save(out, format="PNG", pnginfo=info)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _colors(pdf: bytes, tmp: Path) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The colour at the box (top left) and at the image (below it), 30 dpi."""
    path = tmp / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-singlefile", str(path),
                    str(tmp / "page")], check=True, timeout=60)
    image = Image.open(tmp / "page.png").convert("RGB")
    return image.getpixel((20, 20)), image.getpixel((20, 80))


def _render(renderer: DocumentRenderer, folder: Path, style: str = "", img: str = "") -> bytes:
    (folder / "page.html").write_text(PAGE.replace("{style}", style).replace("{img}", img),
                                      encoding="utf-8")
    return renderer.render_pdf(folder, "page.html", {}, identifier="DOC-T", title="t")


def _folder(tmp: Path, css: str) -> Path:
    folder = tmp / "templates"
    folder.mkdir(exist_ok=True)
    (folder / "page.css").write_text(
        "@page { size: A4; margin: 0 } body { margin: 0 } "
        ".box { width: 40mm; height: 40mm; " + css + " } "
        "img { display: block; width: 40mm; height: 40mm; }", encoding="utf-8")
    return folder


def test_an_edited_stylesheet_is_read_again(tmp_path: Path) -> None:
    renderer = DocumentRenderer()
    folder = _folder(tmp_path, "background: #f00;")
    assert _colors(_render(renderer, folder), tmp_path)[0] == (255, 0, 0)
    folder = _folder(tmp_path, "background: #00f; border: 0;")
    assert _colors(_render(renderer, folder), tmp_path)[0] == (0, 0, 255)


def test_a_style_element_still_overrides_the_linked_sheet(tmp_path: Path) -> None:
    renderer = DocumentRenderer()
    folder = _folder(tmp_path, "background: #f00;")
    for _ in range(2):  # cold, then from the cache
        pdf = _render(renderer, folder, style=".box { background: #0f0 }")
        assert _colors(pdf, tmp_path)[0] == (0, 255, 0)


def test_each_seal_image_stays_its_own(tmp_path: Path) -> None:
    renderer = DocumentRenderer()
    folder = _folder(tmp_path, "background: #fff;")
    for color in [(200, 30, 30), (30, 30, 200), (200, 30, 30)]:
        pdf = _render(renderer, folder, img=f'<img src="{_png(color)}" alt="印">')
        got = _colors(pdf, tmp_path)[1]
        assert all(abs(a - b) <= 2 for a, b in zip(got, color, strict=True)), (got, color)
    assert len(renderer._images.cache) >= 2  # both seals kept, each found again by its URL


def test_a_sheet_with_per_document_rules_is_left_to_weasyprint(tmp_path: Path) -> None:
    renderer = DocumentRenderer()
    folder = _folder(tmp_path, "background: #f00;")
    style = "@counter-style x { system: cyclic; symbols: '*'; } .box { background: #0f0 }"
    for _ in range(2):
        assert _colors(_render(renderer, folder, style=style), tmp_path)[0] == (0, 255, 0)
    assert not renderer._stylesheets._sheets  # nothing of that page was cached
