"""Hostile PDFs built by hand (never checked in): an xref stream that inflates to tens of
MB, and files declaring huge object counts."""

from __future__ import annotations

import zlib

_HEAD = (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
         b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
         b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")


def _with_xref_stream(dictionary: bytes, stream: bytes) -> bytes:
    offset = len(_HEAD)
    xref = (b"3 0 obj\n<< /Type /XRef /Root 1 0 R " + dictionary
            + b" /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream\nendobj\n")
    return _HEAD + xref + b"startxref\n%d\n%%%%EOF\n" % offset


def xref_bomb(inflated: int = 25 * 1024 * 1024) -> bytes:
    """A small PDF whose cross-reference stream inflates to ``inflated`` bytes: one entry
    of 7 bytes (``/W [1 4 2]``) per declared object, all alike, so it compresses ~1000:1."""
    count = inflated // 7
    compressor = zlib.compressobj(9)
    block = b"\x01\x00\x00\x00\x0f\x00\x00" * 65536
    parts, left = [], count
    while left > 0:
        n = min(left, 65536)
        parts.append(compressor.compress(block[: n * 7]))
        left -= n
    parts.append(compressor.flush())
    return _with_xref_stream(b"/Size %d /W [1 4 2] /Filter /FlateDecode" % count,
                             b"".join(parts))


def count_bomb(count: int = 50_000_000) -> bytes:
    """A PDF of ~300 bytes declaring ``count`` objects: entries of width 0 (``/W [0 0 0]``)
    take no bytes, and a reader loops over every one of them."""
    return _with_xref_stream(b"/Size %d /W [0 0 0]" % count, b"")


def prev_chain_bomb(sections: int = 40, each: int = 150_000) -> bytes:
    """Cross-reference streams chained by ``/Prev``, each declaring fewer objects than the
    cap, together millions."""
    out, previous = bytearray(_HEAD), None
    for n in range(sections):
        offset = len(out)
        prev = b" /Prev %d" % previous if previous is not None else b""
        out += (b"%d 0 obj\n<< /Type /XRef /Root 1 0 R /Size %d /W [0 0 0]%s /Length 0 >>\n"
                b"stream\n\nendstream\nendobj\n" % (3 + n, each, prev))
        previous = offset
    out += b"startxref\n%d\n%%%%EOF\n" % previous
    return bytes(out)
