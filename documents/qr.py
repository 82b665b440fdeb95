"""QR codes (segno) that lead from a printed document to its public verify page."""

from __future__ import annotations

import io
from urllib.parse import quote

import segno

__all__ = ["qr_svg", "verify_url"]


def verify_url(public_url: str, document_id: str) -> str:
    """The public verify page of a document: ``<public_url>/verify/<document_id>``."""
    return f"{public_url.rstrip('/')}/verify/{quote(document_id, safe='')}"


def qr_svg(data: str, *, title: str | None = None) -> str:
    """An SVG element (no XML declaration, no fixed size) encoding ``data``.

    Error correction level M (15 %): survives a fold or a smudge on paper while staying
    small enough to scan from a 22 mm square. The SVG has a ``viewBox`` and no width or
    height, so the stylesheet sizes it; a quiet zone of 2 modules is included (the
    template's box adds white space around it).

    :param title: accessible name (an SVG ``<title>``), e.g. the URL itself.
    """
    code = segno.make_qr(data, error="m", boost_error=False)
    out = io.BytesIO()
    code.save(
        out, kind="svg", xmldecl=False, svgns=True, omitsize=True, border=2, title=title, nl=False
    )
    return out.getvalue().decode("utf-8")
