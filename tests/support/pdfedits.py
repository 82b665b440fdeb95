"""Changes made to a sealed PDF after issue: a flipped byte, incremental updates (text,
/Info, XMP), a later document timestamp."""

from __future__ import annotations

import io

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper

from documents.devpki import DevPKI
from documents.timestamps import LocalTimestampAuthority


def flip_byte(data: bytes) -> bytes:
    # In the middle of the signed range (the page content), not in the signature itself.
    out = bytearray(data)
    out[len(out) // 4] ^= 0x01
    return bytes(out)


def append_text_update(data: bytes) -> bytes:
    """An incremental update that paints over the damage grade and writes other text."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page_ref, resources = writer.find_page_for_modification(0)
    fonts = resources.get_object().get("/Font") or generic.DictionaryObject()
    fonts = fonts.get_object()
    font_name = next(iter(fonts.keys()), "/F1")
    content = (
        b"q 1 1 1 rg 150 430 200 30 re f Q BT "
        + str(font_name).encode()
        + b" 14 Tf 160 440 Td <0001000200030004> Tj ET"
    )
    stream = generic.StreamObject(stream_data=content)
    page = page_ref.get_object()
    old = page["/Contents"]
    contents = generic.ArrayObject(list(old) if isinstance(old, generic.ArrayObject) else [old])
    contents.append(writer.add_object(stream))
    page["/Contents"] = contents
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def update_info(data: bytes, title: str = "取消済み") -> bytes:
    """An incremental update that changes only the document information (/Info)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    info = writer.trailer["/Info"]
    info[generic.NameObject("/Title")] = generic.TextStringObject(title)
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def update_xmp_title(data: bytes) -> bytes:
    """An incremental update that changes only the XMP title a viewer shows."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    old = writer.root["/Metadata"].data
    xmp = old.replace("罹災証明書".encode(), "取消済み".encode())
    assert xmp != old
    stream = generic.StreamObject(
        {generic.NameObject("/Type"): generic.NameObject("/Metadata"),
         generic.NameObject("/Subtype"): generic.NameObject("/XML")},
        stream_data=xmp,
    )
    writer.root[generic.NameObject("/Metadata")] = writer.add_object(stream)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def add_document_timestamp(data: bytes, pki: DevPKI) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    out = io.BytesIO()
    PdfTimeStamper(LocalTimestampAuthority.from_pki(pki)).timestamp_pdf(
        writer, "sha256", output=out)
    return out.getvalue()
