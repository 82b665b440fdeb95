"""PDF/A checks of an issued document, with the tools installed here (no veraPDF: it is
neither a Python nor a Debian package on this machine).

:func:`pdfa_problems` reads the file with pyHanko's reader and poppler's ``pdfinfo`` /
``pdffonts`` and lists what contradicts the claim "tagged PDF/A-3u, PDF 1.7" (an empty
list: nothing found). It checks the parts of ISO 19005-3 that our pipeline could get wrong,
not all of it: the header and catalog version, the XMP identification (part and
conformance), tagging (``StructTreeRoot``, ``MarkInfo /Marked``, ``/Lang``), the sRGB
output intent, embedded fonts with a ``ToUnicode`` map (level U), the Info/XMP producer
agreement, associated files with their relationship, and no encryption or JavaScript.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def _xmp_attr(xmp: str, name: str) -> str | None:
    found = re.search(rf'{name}="([^"]*)"', xmp) or re.search(
        rf"<{name}>([^<]*)</{name}>", xmp)
    return found[1] if found else None


def pdfa_problems(path: Path, *, part: str = "3", conformance: str = "U") -> list[str]:
    """What contradicts "tagged PDF/A-``part````conformance``, PDF 1.7" in ``path``."""
    problems: list[str] = []
    data = path.read_bytes()
    if not data.startswith(b"%PDF-1.7"):
        problems.append(f"header {data[:8]!r}, expected %PDF-1.7")
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    root = reader.root
    if "/Version" in root and str(root["/Version"]) != "/1.7":
        problems.append(f"catalog /Version {root['/Version']} (PDF/A-3 is PDF 1.7)")
    xmp = _run("pdfinfo", "-meta", path)
    if _xmp_attr(xmp, "pdfaid:part") != part:
        problems.append(f"XMP pdfaid:part {_xmp_attr(xmp, 'pdfaid:part')!r}, expected {part}")
    if _xmp_attr(xmp, "pdfaid:conformance") != conformance:
        problems.append(f"XMP pdfaid:conformance {_xmp_attr(xmp, 'pdfaid:conformance')!r}")
    if "/StructTreeRoot" not in root:
        problems.append("no StructTreeRoot (untagged)")
    mark = root.get("/MarkInfo")
    if mark is None or not bool(mark.get("/Marked")):
        problems.append("MarkInfo /Marked is not true")
    if not str(root.get("/Lang", "")):
        problems.append("no document /Lang")
    intents = root.get("/OutputIntents") or []
    if not any(str(i.get("/S")) == "/GTS_PDFA1" and "/DestOutputProfile" in i for i in intents):
        problems.append("no GTS_PDFA1 output intent with an ICC profile")
    if "/Encrypt" in reader.trailer:
        problems.append("encrypted")
    names = root.get("/Names")
    if names is not None and "/JavaScript" in names:
        problems.append("document JavaScript")
    try:
        info = reader.trailer["/Info"]
    except KeyError:
        info = None
    producer = _xmp_attr(xmp, "pdf:Producer")
    if info is not None and "/Producer" in info and str(info["/Producer"]) != producer:
        problems.append(f"Info /Producer {str(info['/Producer'])!r} != XMP {producer!r}")
    for spec in root.get("/AF") or []:
        spec = spec.get_object()
        if "/AFRelationship" not in spec or "/EF" not in spec:
            problems.append(f"associated file {spec.get('/F')} without relationship or data")
    # Fonts: embedded, and (level U) every one maps its glyphs to Unicode.
    for line in _run("pdffonts", path).splitlines()[2:]:
        cols = line.split()
        if cols[-5] != "yes":
            problems.append(f"font not embedded: {cols[0]}")
        if cols[-3] != "yes":
            problems.append(f"font without ToUnicode: {cols[0]}")
    return problems
