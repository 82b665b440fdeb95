"""Issued documents: render → seal → verify.

- :mod:`documents.render` turns a catalogue template and its context into an unsealed
  PDF/A-3b (:class:`DocumentRenderer`, warm, one per worker process).
- :mod:`documents.fonts` makes sure a Japanese font is installed before anything is
  rendered (:func:`find_japanese_font`).
- :mod:`documents.wareki` formats dates in 和暦 and 西暦 for templates.
- Sealing (the municipality's e-seal and a timestamp, pyHanko) comes next and takes the
  rendered bytes as its input: render and seal are separate, idempotent steps, so a retried
  seal never re-renders. Templates already reserve the seal and QR code areas.

Nothing here imports WeasyPrint at import time.
"""

from documents.fonts import JapaneseFontMissing, find_japanese_font
from documents.render import DocumentRenderer, TemplateError
from documents.wareki import format_seireki, format_wareki

__all__ = [
    "DocumentRenderer",
    "JapaneseFontMissing",
    "TemplateError",
    "find_japanese_font",
    "format_seireki",
    "format_wareki",
]
