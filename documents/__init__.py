"""Issued documents: render → seal → verify.

- :mod:`documents.render` turns a catalogue template and its context into an unsealed
  tagged PDF/A-3u, PDF 1.7 (:class:`DocumentRenderer`, warm, one per worker process).
- :mod:`documents.fonts` makes sure a Japanese font is installed before anything is
  rendered (:func:`find_japanese_font`).
- :mod:`documents.wareki` formats dates in 和暦 and 西暦 for templates.
- :mod:`documents.seal` seals the rendered bytes with the municipality's e-seal (PAdES
  B-T, or B-LTA when the trust roots are known) and an RFC 3161 timestamp
  (:class:`Sealer`); :mod:`documents.timestamps` has the development TSA and picks the
  configured one; :mod:`documents.devpki` creates the development CA and seals.
- :mod:`documents.qr` makes the QR code to the public verify page.
- :mod:`documents.issuer` is the facade the issuing activity calls
  (:class:`DocumentIssuer`: render with QR and attached data → seal).
- :mod:`documents.verify` checks a PDF's seal and timestamp (:func:`verify_pdf`);
  :mod:`documents.bounded` does it for untrusted uploads in pre-started child processes
  with CPU, memory and time limits (:class:`BoundedVerifier`, :class:`DocumentUncheckable`).

Nothing here imports WeasyPrint at import time.
"""

from documents.bounded import BoundedVerifier
from documents.fonts import JapaneseFontMissing, find_japanese_font
from documents.issuer import DocumentIssuer, UnknownSealer, development_issuer, mask_name
from documents.render import DocumentRenderer, TemplateError
from documents.seal import Sealer, SealError, SealLevel
from documents.verify import DocumentUncheckable, Verdict, overall_status, verify_pdf
from documents.wareki import format_seireki, format_wareki

__all__ = [
    "BoundedVerifier",
    "DocumentIssuer",
    "DocumentRenderer",
    "DocumentUncheckable",
    "JapaneseFontMissing",
    "SealError",
    "SealLevel",
    "Sealer",
    "TemplateError",
    "UnknownSealer",
    "Verdict",
    "development_issuer",
    "find_japanese_font",
    "format_seireki",
    "format_wareki",
    "mask_name",
    "overall_status",
    "verify_pdf",
]
