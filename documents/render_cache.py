"""What a warm renderer keeps between renders: parsed stylesheets and decoded images.

A document worker renders the same few templates all day. WeasyPrint, left alone, parses
every template's stylesheets again on each render (about a tenth of a certificate's CPU)
and decodes and re-encodes the municipality's seal image each time. These caches keep
what is the same from one render to the next, keyed so that a cached object is only
reused for exactly the input it was made from:

- :class:`StylesheetCache`: a parsed ``CSS`` per ``<style>`` text (and base URL) or per
  linked stylesheet file (URL, base, size and modification time, so an edited file is
  parsed again). Sheets that feed per-document state (``@font-face``, ``@counter-style``,
  ``@import``, ``@color-profile``) are never cached: such a page renders as before.
- :class:`DataImageCache`: large ``data:`` images (a seal image), whose URL *is* their
  content. File images are forgotten after each render (a file may change).

:func:`use_fast_compression` lowers pydyf's stream compression from level 9 to 1.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

__all__ = ["COMPRESSION_LEVEL", "DataImageCache", "StylesheetCache", "use_fast_compression"]

#: zlib level of the PDF's streams. Level 9 (pydyf's) costs about three times level 1's
#: CPU for a file about 6 % smaller; the sealed document is stored once and never sent
#: in bulk, so CPU matters more.
COMPRESSION_LEVEL = 1

#: At-rules whose effect is not confined to the parsed sheet (fonts and counter styles
#: go into per-document registries; imports read other files).
_SHARED_STATE = re.compile(r"@(font-face|counter-style|import|color-profile)\b", re.I)


class StylesheetCache:
    """Parsed stylesheets of the templates, taken out of each page before it renders.

    :meth:`take` removes every ``<style>`` and stylesheet ``<link>`` from the parsed page
    and returns their parsed ``CSS`` objects in document order, to be passed as
    ``stylesheets=``. WeasyPrint gives those the *user* origin; with no author sheet
    left, the cascade is the same (user beats the user-agent sheet, as author did;
    presentational hints are off). All or nothing: if any sheet cannot be cached, the
    page is left untouched and renders as before.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._sheets: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def take(self, page: Any, url_fetcher: Any, font_config: Any) -> list[Any] | None:
        """The page's stylesheets, parsed once per distinct input; ``None`` to render as is."""
        import weasyprint

        root = page.etree_element
        parents = {child: parent for parent in root.iter() for child in parent}
        found: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []
        for element in (e for e in root.iter() if e.tag in ("style", "link")):
            if element.tag == "link":
                rel = set((element.get("rel") or "").lower().split())
                if "stylesheet" not in rel or "alternate" in rel or not element.get("href"):
                    continue  # not a stylesheet: WeasyPrint ignores it too
            if element.get("type", "text/css").split(";")[0].strip() != "text/css":
                return None
            if (element.get("media") or "all").strip() not in ("all", "print"):
                return None
            if element.tag == "style":
                if len(element):
                    return None
                text = element.text or ""
                if _SHARED_STATE.search(text):
                    return None
                key: tuple[Any, ...] = ("style", page.base_url, text)
                args: dict[str, Any] = {"string": text, "base_url": page.base_url}
            else:
                url = urljoin(page.base_url, element.get("href"))
                stamp = _file_stamp(url)
                if stamp is None:
                    return None
                key, args = ("link", page.base_url, url, *stamp), {"url": url}
            found.append((element, key, args))
        sheets = []
        for _, key, args in found:
            sheet = self._sheets.get(key)
            if sheet is None:
                sheet = weasyprint.CSS(url_fetcher=url_fetcher, font_config=font_config,
                                       media_type=page.media_type, **args)
                if _SHARED_STATE.search(_source(sheet, args)):
                    return None
                self._sheets[key] = sheet
                while len(self._sheets) > self._size:
                    self._sheets.popitem(last=False)
            self._sheets.move_to_end(key)
            sheets.append(sheet)
        for element, _, _ in found:
            parents[element].remove(element)
        return sheets


def _file_stamp(url: str) -> tuple[Any, ...] | None:
    """What identifies a linked sheet's content: size and mtime of a file, the URL of data."""
    if url.startswith("data:"):
        return ()
    if not url.startswith("file:"):
        return None
    try:
        stat = Path(unquote(urlsplit(url).path)).stat()
    except OSError:
        return None  # WeasyPrint reports the missing file
    return (stat.st_size, stat.st_mtime_ns)


def _source(sheet: Any, args: dict[str, Any]) -> str:
    if "string" in args:
        return str(args["string"])
    url = str(args["url"])
    if url.startswith("file:"):
        return Path(unquote(urlsplit(url).path)).read_text(encoding="utf-8", errors="replace")
    return unquote(url)


class DataImageCache:
    """WeasyPrint's image cache, kept between renders for large ``data:`` images only.

    WeasyPrint keys decoded images by URL and their PDF streams by the URL's MD5. A
    ``data:`` URL is its content, so reusing it is exact; a file may change, so
    :meth:`forget_files` drops everything else after each render. Small data images
    (a QR code: new every document, cheap to decode) are not kept either.
    """

    def __init__(self, size: int = 16, min_url_chars: int = 4096) -> None:
        self.cache: dict[str, Any] = {}
        self._size = size
        self._min = min_url_chars
        self._kept: OrderedDict[str, str] = OrderedDict()  # url -> its md5 id

    def forget_files(self) -> None:
        """Drop what may not be reused: file images, small data images, the oldest."""
        for url in list(self.cache):
            if url.startswith("data:") and len(url) >= self._min and url not in self._kept:
                self._kept[url] = hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)
        ids = tuple(f"{image_id}-" for image_id in self._kept.values())
        for key in list(self.cache):
            if key not in self._kept and not key.startswith(ids or ("\0",)):
                del self.cache[key]


class _Zlib:
    """pydyf's view of zlib, with the compression level fixed."""

    def __init__(self, level: int) -> None:
        self._level = level
        self.compress = zlib.compress

    def compressobj(self, level: int = -1, *args: Any, **kwargs: Any) -> Any:
        return zlib.compressobj(self._level, *args, **kwargs)


def use_fast_compression(level: int = COMPRESSION_LEVEL) -> None:
    """Make pydyf (WeasyPrint's PDF writer) compress streams at ``level``.

    pydyf hard-codes level 9 and offers no option; it reaches zlib through its module
    global, which this replaces for the whole process (the output is ordinary Flate at
    any level, so other pydyf users in the process are unaffected but for speed).
    """
    import pydyf

    if not isinstance(pydyf.zlib, _Zlib):
        pydyf.zlib = _Zlib(level)  # type: ignore[assignment]
