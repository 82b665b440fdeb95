"""Rendering issued documents: Jinja2 HTML template → WeasyPrint → tagged PDF/A-3u bytes.

The output of :meth:`DocumentRenderer.render_pdf` is an *unsealed* PDF. Sealing (the
municipality's e-seal, a timestamp) is a separate step that takes these bytes and returns
sealed bytes; it must not need anything from here except the PDF itself.

WeasyPrint is imported lazily (ruff bans a module-level import): importing it and setting
up fonts costs far more than rendering one page, so a worker keeps one warm
:class:`DocumentRenderer` for its lifetime.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from documents.fonts import find_japanese_font
from documents.render_cache import DataImageCache, StylesheetCache, use_fast_compression
from documents.wareki import format_seireki, format_wareki

__all__ = ["PDF_VARIANT", "PDF_VERSION", "DocumentRenderer", "TemplateError"]

#: What issued documents claim: PDF/A-3 (attachments allowed), level U (every glyph maps
#: to Unicode, so the text can be searched and read aloud), tagged.
PDF_VARIANT = "pdf/a-3u"
#: The PDF version PDF/A-3 is based on (ISO 19005-3 → ISO 32000-1).
PDF_VERSION = "1.7"


class TemplateError(ValueError):
    """A document template is missing, invalid, or does not fit its context.

    Raised for a missing template (or template directory), a syntax error, a variable the
    context does not provide, a value a filter cannot format, and a resource (stylesheet,
    image) the template refers to but that cannot be loaded or lies outside the template
    directory. Retrying does not help: the catalogue or the caller must be fixed.
    """


def _as_date(value: Any) -> date:
    if isinstance(value, date):  # datetime is a date too
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError as exc:
            raise TemplateError(f"not an ISO 8601 date: {value!r}") from exc
    raise TemplateError(f"cannot format {type(value).__name__} as a date")


def _wareki_filter(value: Any) -> str:
    try:
        return format_wareki(_as_date(value))
    except TemplateError:
        raise
    except ValueError as exc:
        raise TemplateError(str(exc)) from exc


def _seireki_filter(value: Any) -> str:
    return format_seireki(_as_date(value))


def _css_string_filter(value: Any) -> Markup:
    """Quote ``value`` as a CSS string, safe inside a ``<style>`` element."""
    text = str(value)
    escaped = "".join(
        ch if ch.isalnum() or ch in " -_.," or ord(ch) > 0x7F else f"\\{ord(ch):x} " for ch in text
    )
    return Markup(f'"{escaped}"')


def pdf_identifier_for(identifier: str) -> bytes:
    """The PDF file identifier (trailer ``/ID``) of the document called ``identifier``.

    Derived, not random: a retried render of the same document gets the same identifier.
    32 hex digits, the length PDF writers conventionally use.
    """
    return hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:32].encode("ascii")


class DocumentRenderer:
    """Warm renderer: imports WeasyPrint lazily once, keeps a FontConfiguration, a
    Jinja2 environment per template dir, the parsed stylesheets and large ``data:``
    images (:mod:`documents.render_cache`).

    Templates are rendered with autoescaping on and ``StrictUndefined`` (a typo in a
    template is an error, not an empty field), with the filters ``wareki``
    (``令和8年11月26日``), ``seireki`` (``2026年11月26日``) and ``css_string``. Both date
    filters accept dates, datetimes (aware ones are shown in Japan time) and ISO 8601
    strings. The context gets ``font_family`` (from :func:`find_japanese_font`) unless the
    caller provides one.

    Resources the template links to (stylesheets, images) are loaded only from the
    template directory or from ``data:`` URLs; anything else is a :class:`TemplateError`.

    One instance may be shared by threads; renders are serialized, since WeasyPrint does
    not promise thread safety. For parallelism use processes, each with its own renderer.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._environments: dict[Path, jinja2.Environment] = {}
        self._weasyprint: Any = None
        self._font_config: Any = None
        self._font_family: str | None = None
        self._stylesheets = StylesheetCache()
        self._images = DataImageCache()

    @property
    def font_family(self) -> str:
        """The Japanese font family found on this machine (looked up once).

        :raises JapaneseFontMissing: if there is none.
        """
        if self._font_family is None:
            self._font_family = find_japanese_font()
        return self._font_family

    def environment(self, template_dir: Path) -> jinja2.Environment:
        """The (cached) Jinja2 environment for templates in ``template_dir``.

        :raises TemplateError: if ``template_dir`` is not a directory.
        """
        key = Path(template_dir).resolve()
        env = self._environments.get(key)
        if env is None:
            if not key.is_dir():
                raise TemplateError(f"template directory not found: {template_dir}")
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(key),
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.filters["wareki"] = _wareki_filter
            env.filters["seireki"] = _seireki_filter
            env.filters["css_string"] = _css_string_filter
            self._environments[key] = env
        return env

    def render_html(
        self, template_dir: Path, template_name: str, context: Mapping[str, Any]
    ) -> str:
        """Render ``template_name`` from ``template_dir`` to an HTML string.

        :raises TemplateError: if the template is missing or invalid, or uses a variable
            the context lacks.
        :raises JapaneseFontMissing: if no Japanese font is installed.
        """
        env = self.environment(template_dir)
        full_context = {"font_family": self.font_family, **context}
        try:
            template = env.get_template(template_name)
            return template.render(full_context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template not found: {template_name} in {template_dir}") from exc
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template syntax error in {exc.filename or template_name} line {exc.lineno}: "
                f"{exc.message}"
            ) from exc
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {template_name}: {exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {template_name}: {exc}") from exc

    def render_pdf(
        self,
        template_dir: Path,
        template_name: str,
        context: Mapping[str, Any],
        *,
        identifier: str,
        title: str,
        lang: str = "ja",
        attachments: Mapping[str, bytes] | None = None,
    ) -> bytes:
        """Render a document template to a tagged A4 PDF/A-3u (PDF 1.7), unsealed.

        :param template_dir: directory holding the template and the files it links to.
        :param template_name: file name of the Jinja2 HTML template, relative to
            ``template_dir``.
        :param context: template variables.
        :param identifier: the document's id (e.g. ``DOC-…``); the PDF file identifier is
            derived from it.
        :param title: the PDF's title metadata.
        :param lang: the PDF's language metadata (BCP 47).
        :param attachments: files embedded in the PDF/A-3 (``AFRelationship /Data``), by
            file name, e.g. ``{"application.json": b"{...}"}``: the machine-readable
            application data the document was issued from. The media type is guessed
            from the name.
        :returns: the PDF bytes. Not byte-for-byte deterministic (creation date, XMP ids).
        :raises TemplateError: if the template is missing, invalid, uses a variable the
            context lacks, or links to a resource that cannot be loaded.
        :raises JapaneseFontMissing: if no Japanese font is installed.
        """
        with self._lock:
            html = self.render_html(template_dir, template_name, context)
            weasyprint = self._load_weasyprint()
            base = Path(template_dir).resolve()
            fetcher = _confined_url_fetcher(weasyprint, base)
            try:
                page = weasyprint.HTML(
                    string=html, base_url=f"{base.as_uri()}/", url_fetcher=fetcher
                )
                sheets = self._stylesheets.take(page, fetcher, self._font_config)
                document = page.render(
                    font_config=self._font_config,
                    stylesheets=sheets,
                    cache=self._images.cache,
                )
                document.metadata.title = title
                document.metadata.lang = lang
                files = [
                    weasyprint.Attachment(
                        file_obj=io.BytesIO(data),
                        name=name,
                        relationship="Data",
                        url_fetcher=fetcher,
                    )
                    for name, data in (attachments or {}).items()
                ]
                return document.write_pdf(
                    pdf_variant=PDF_VARIANT,
                    # PDF/A-3 is based on ISO 32000-1: the header says 1.7, and the seal
                    # (documents.seal) keeps it so.
                    pdf_version=PDF_VERSION,
                    # Tagged (StructTreeRoot, MarkInfo /Marked): screen readers and text
                    # extraction follow the reading order, not the drawing order.
                    pdf_tags=True,
                    pdf_identifier=pdf_identifier_for(identifier),
                    attachments=files,
                )
            except weasyprint.urls.FatalURLFetchingError as exc:
                cause = exc.__cause__ or exc
                raise TemplateError(f"template {template_name}: {exc}: {cause}") from exc
            finally:
                self._images.forget_files()

    def _load_weasyprint(self) -> Any:
        if self._weasyprint is None:
            import weasyprint
            import weasyprint.urls
            from weasyprint.text.fonts import FontConfiguration

            self._font_config = FontConfiguration()
            use_fast_compression()
            self._weasyprint = weasyprint
        return self._weasyprint


def _confined_url_fetcher(weasyprint: Any, base: Path) -> Any:
    """A URL fetcher that loads only ``data:`` URLs and files under ``base``.

    Errors stop the rendering instead of being logged: a certificate without its stylesheet
    must not be issued.
    """

    class ConfinedURLFetcher(weasyprint.urls.URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file:"):
                from urllib.parse import unquote, urlsplit

                path = Path(unquote(urlsplit(url).path)).resolve()
                if not path.is_relative_to(base):
                    raise ValueError(f"{url} is outside the template directory {base}")
            return super().fetch(url, headers)

    return ConfinedURLFetcher(allowed_protocols=("file", "data"), fail_on_errors=True)
