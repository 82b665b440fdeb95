"""QR codes (segno) that lead from a printed document to its public verify page."""

from __future__ import annotations

import base64
import io
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

import segno
from PIL import Image

__all__ = ["qr_svg", "verify_url"]

#: Quiet zone in modules (the template's box adds white space around it).
BORDER = 2
#: Pixels per module of the PNG: 8 puts a 22 mm code at about 340 dpi, so a viewer or
#: printer that smooths an enlarged image (poppler does, whatever ``/Interpolate`` says)
#: blurs only a hairline at each module's edge, as it antialiases vector squares.
SCALE = 8


def verify_url(public_url: str, document_id: str) -> str:
    """The public verify page of a document: ``<public_url>/verify/<document_id>``."""
    return f"{public_url.rstrip('/')}/verify/{quote(document_id, safe='')}"


def _grey_png(matrix: tuple[bytearray, ...]) -> bytes:
    """The code's modules (1 = dark) as an 8-bit grey PNG with the quiet zone, scaled.

    Built with Pillow from the matrix directly: segno's own PNG writer plus a conversion
    to grey cost six times as much for the same pixels.
    """
    side = len(matrix) + 2 * BORDER  # a QR code (not a Micro QR) is square
    quiet_rows, quiet = b"\xff" * side * BORDER, b"\xff" * BORDER
    modules = b"".join(quiet + bytes(0 if dark else 0xFF for dark in row) + quiet
                       for row in matrix)
    image = Image.frombytes("L", (side, side), quiet_rows + modules + quiet_rows)
    image = image.resize((side * SCALE, side * SCALE), Image.Resampling.NEAREST)
    out = io.BytesIO()
    # 8-bit grey: WeasyPrint turns a 1-bit image into RGB, three times the bytes.
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def qr_svg(data: str, *, title: str | None = None) -> str:
    """An SVG element (no XML declaration, no fixed size) encoding ``data``.

    Error correction level M (15 %): survives a fold or a smudge on paper while staying
    small enough to scan from a 22 mm square. The SVG has a ``viewBox`` and no width or
    height, so the stylesheet sizes it; a quiet zone of 2 modules is included.

    Inside, the modules are one grey PNG (:data:`SCALE` pixels a module) drawn without
    interpolation, not vector paths: WeasyPrint parses and draws the hundreds of path
    segments of a vector QR code on every render (about an eighth of a certificate's
    render), an image costs it next to nothing, and the printed squares are as sharp.

    :param title: accessible name (an SVG ``<title>``), e.g. the URL itself.
    """
    code = segno.make_qr(data, error="m", boost_error=False)
    size = code.symbol_size(border=BORDER)[0]
    href = "data:image/png;base64," + base64.b64encode(_grey_png(code.matrix)).decode("ascii")
    label = f"<title>{escape(title)}</title>" if title is not None else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}">{label}'
        f'<image width="{size}" height="{size}" image-rendering="pixelated" '
        f"href={quoteattr(href)}/></svg>"
    )
