"""Rendering the 罹災証明書 with real WeasyPrint, checked with real poppler tools."""

import copy
import json
import re
import subprocess
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from documents.render import DocumentRenderer, TemplateError, pdf_identifier_for
from tests.support.pdfa import pdfa_problems

REPO = Path(__file__).resolve().parents[2]
CERTIFICATE_TEMPLATES = REPO / "forms/catalog/disaster-certificate/templates"
ARTIFACTS = REPO / "test-artifacts/documents"
DOCUMENT_ID = "DOC-1a2b3c4d"


SAMPLE = (Path(__file__).resolve().parents[2]
          / "forms/catalog/disaster-certificate/examples/certificate-context.json")


def sample_context() -> dict[str, Any]:
    """The sample certificate context the docs and tests share (examples/)."""
    context = json.loads(SAMPLE.read_text(encoding="utf-8"))
    context["document"]["id"] = DOCUMENT_ID
    context["font_family"] = "IPAexMincho"
    return context


def run(*args: str | Path) -> str:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def render(renderer: DocumentRenderer, context: Mapping[str, Any], **kwargs: Any) -> bytes:
    return renderer.render_pdf(
        CERTIFICATE_TEMPLATES,
        "certificate.html",
        context,
        identifier=kwargs.pop("identifier", DOCUMENT_ID),
        title=kwargs.pop("title", "罹災証明書"),
        **kwargs,
    )


@pytest.fixture(scope="module")
def renderer() -> DocumentRenderer:
    return DocumentRenderer()


@pytest.fixture(scope="module")
def certificate(renderer: DocumentRenderer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pdf = render(renderer, sample_context())
    path = tmp_path_factory.mktemp("certificate") / "certificate.pdf"
    path.write_bytes(pdf)
    return path


def test_certificate_text(certificate: Path) -> None:
    text = run("pdftotext", certificate, "-")
    for expected in [
        "罹災証明書",
        "下記のとおり、罹災したことを証明します。",
        "第 DOC-1a2b3c4d 号",
        "令和8年11月26日",  # issue date, 和暦
        "2026年11月26日",  # issue date, 西暦
        "令和8年台風第15号",
        "令和8年9月20日",  # disaster date through the wareki filter (ISO string input)
        "〒100-0001",
        "東京都千代田区千代田1-1",
        "山田 太郎",
        "ヤマダ タロウ",
        "大規模半壊",
        "■大規模半壊",
        "42.5％",
        "千代田区長",
        "APP-7f3e9c21",
        "131016",
    ]:
        assert expected in text, expected
    assert "□大規模半壊" not in text
    assert "■全壊" not in text


def test_certificate_embeds_only_japanese_fonts(certificate: Path) -> None:
    lines = run("pdffonts", certificate).splitlines()[2:]
    assert lines, "no fonts in the PDF"
    for line in lines:
        name, emb = line.split()[0], line.split()[-5]
        # A DejaVu fallback here would mean boxes or mixed glyphs in the certificate.
        assert "+IPAex" in name, line
        assert emb == "yes", line


def test_certificate_is_one_a4_page_with_metadata(certificate: Path) -> None:
    info = run("pdfinfo", certificate)
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size is not None, info
    assert float(size[1]) == pytest.approx(595.28, abs=0.5)
    assert float(size[2]) == pytest.approx(841.89, abs=0.5)
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE), info
    assert re.search(r"^Title:\s+罹災証明書$", info, re.MULTILINE), info


def test_certificate_is_tagged_pdf_a_3u_at_pdf_1_7(certificate: Path) -> None:
    xmp = run("pdfinfo", "-meta", certificate)
    assert 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="U"' in xmp
    info = run("pdfinfo", certificate)
    assert re.search(r"^Tagged:\s+yes$", info, re.MULTILINE), info
    assert re.search(r"^PDF version:\s+1\.7$", info, re.MULTILINE), info
    assert pdfa_problems(certificate) == []


def test_pdf_identifier_is_derived_from_the_document_id(certificate: Path) -> None:
    data = certificate.read_bytes()
    expected = pdf_identifier_for(DOCUMENT_ID)
    assert re.search(rb"/ID \[\(" + expected + rb"\)", data)
    assert pdf_identifier_for(DOCUMENT_ID) != pdf_identifier_for("DOC-other")


def test_certificate_png_for_review(certificate: Path) -> None:
    """Writes test-artifacts/documents/certificate-1.png for a human to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = ARTIFACTS / "certificate"
    png = ARTIFACTS / "certificate-1.png"
    png.unlink(missing_ok=True)
    run("pdftoppm", "-r", "60", "-png", certificate, prefix)
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_user_data_is_escaped(renderer: DocumentRenderer, tmp_path: Path) -> None:
    context = sample_context()
    context["data"]["applicant"]["name"]["family"] = "<b>山田</b>"
    html = renderer.render_html(CERTIFICATE_TEMPLATES, "certificate.html", context)
    assert "&lt;b&gt;山田&lt;/b&gt;" in html
    assert "<b>山田" not in html
    pdf = tmp_path / "escaped.pdf"
    pdf.write_bytes(render(renderer, context))
    assert "<b>山田</b> 太郎" in run("pdftotext", pdf, "-")


def test_issue_date_is_shown_in_japan_time(renderer: DocumentRenderer) -> None:
    context = sample_context()
    context["issued_at"] = datetime(2026, 11, 25, 20, 0, tzinfo=ZoneInfo("UTC"))
    html = renderer.render_html(CERTIFICATE_TEMPLATES, "certificate.html", context)
    assert "令和8年11月26日" in html
    assert "令和8年11月25日" not in html


def test_qr_code_slot(renderer: DocumentRenderer, tmp_path: Path) -> None:
    context = sample_context()
    without = renderer.render_html(CERTIFICATE_TEMPLATES, "certificate.html", context)
    assert "<svg" not in without
    context["qr_svg"] = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" id="qr-test">'
        '<rect width="10" height="10"/></svg>'
    )
    with_qr = renderer.render_html(CERTIFICATE_TEMPLATES, "certificate.html", context)
    assert 'id="qr-test"' in with_qr
    pdf = tmp_path / "qr.pdf"
    pdf.write_bytes(render(renderer, context))
    assert "千代田区長" in run("pdftotext", pdf, "-")


def test_font_family_defaults_to_the_one_found(renderer: DocumentRenderer) -> None:
    context = sample_context()
    del context["font_family"]
    html = renderer.render_html(CERTIFICATE_TEMPLATES, "certificate.html", context)
    assert f'font-family: "{renderer.font_family}"' in html


def test_missing_variable_is_a_template_error(renderer: DocumentRenderer) -> None:
    context = copy.deepcopy(sample_context())
    del context["survey"]
    with pytest.raises(TemplateError, match="survey"):
        render(renderer, context)


def test_missing_nested_key_is_a_template_error(renderer: DocumentRenderer) -> None:
    context = copy.deepcopy(sample_context())
    del context["computed"]["damage_grade"]["ja"]
    with pytest.raises(TemplateError, match="ja"):
        render(renderer, context)


def test_template_typo_is_a_template_error(renderer: DocumentRenderer, tmp_path: Path) -> None:
    (tmp_path / "typo.html").write_text("<p>{{ documnet.id }}</p>", encoding="utf-8")
    with pytest.raises(TemplateError, match="documnet"):
        renderer.render_pdf(tmp_path, "typo.html", sample_context(), identifier="DOC-1", title="t")


def test_template_syntax_error_is_a_template_error(
    renderer: DocumentRenderer, tmp_path: Path
) -> None:
    (tmp_path / "broken.html").write_text("<p>{% if %}</p>", encoding="utf-8")
    with pytest.raises(TemplateError, match="syntax"):
        renderer.render_pdf(tmp_path, "broken.html", {}, identifier="DOC-1", title="t")


def test_missing_template_is_a_template_error(renderer: DocumentRenderer) -> None:
    with pytest.raises(TemplateError, match="not found"):
        renderer.render_pdf(
            CERTIFICATE_TEMPLATES, "nope.html", sample_context(), identifier="DOC-1", title="t"
        )


def test_template_outside_its_directory_is_refused(renderer: DocumentRenderer) -> None:
    with pytest.raises(TemplateError):
        renderer.render_pdf(
            CERTIFICATE_TEMPLATES,
            "../procedure.json",
            sample_context(),
            identifier="DOC-1",
            title="t",
        )


def test_missing_template_dir_is_a_template_error(
    renderer: DocumentRenderer, tmp_path: Path
) -> None:
    with pytest.raises(TemplateError, match="directory"):
        renderer.render_pdf(
            tmp_path / "absent", "certificate.html", {}, identifier="DOC-1", title="t"
        )


def test_bad_date_value_is_a_template_error(renderer: DocumentRenderer) -> None:
    context = sample_context()
    context["disaster_event"]["date"] = "20 Sept"
    with pytest.raises(TemplateError, match="ISO 8601"):
        render(renderer, context)


def test_missing_stylesheet_is_a_template_error(renderer: DocumentRenderer, tmp_path: Path) -> None:
    # Without this, WeasyPrint only logs a warning and issues an unstyled document.
    (tmp_path / "doc.html").write_text(
        '<link rel="stylesheet" href="missing.css"><p>本文</p>', encoding="utf-8"
    )
    with pytest.raises(TemplateError, match=r"missing\.css"):
        renderer.render_pdf(tmp_path, "doc.html", {}, identifier="DOC-1", title="t")


def test_resources_outside_the_template_dir_are_refused(
    renderer: DocumentRenderer, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (tmp_path / "secret.css").write_text("p { color: red }", encoding="utf-8")
    (templates / "doc.html").write_text(
        '<link rel="stylesheet" href="../secret.css"><p>本文</p>', encoding="utf-8"
    )
    with pytest.raises(TemplateError, match=r"secret\.css"):
        renderer.render_pdf(templates, "doc.html", {}, identifier="DOC-1", title="t")
    # The same file, inside the directory, loads.
    (templates / "ok.css").write_text("p { color: red }", encoding="utf-8")
    (templates / "ok.html").write_text(
        '<link rel="stylesheet" href="ok.css"><p>本文</p>', encoding="utf-8"
    )
    pdf = renderer.render_pdf(templates, "ok.html", {}, identifier="DOC-1", title="t")
    assert pdf.startswith(b"%PDF-")


def test_renderer_reuses_its_environment(renderer: DocumentRenderer) -> None:
    env = renderer.environment(CERTIFICATE_TEMPLATES)
    first = render(renderer, sample_context(), identifier="DOC-first")
    second = render(renderer, sample_context(), identifier="DOC-second")
    assert renderer.environment(CERTIFICATE_TEMPLATES) is env
    assert renderer.environment(CERTIFICATE_TEMPLATES / ".") is env
    assert pdf_identifier_for("DOC-first") in first
    assert pdf_identifier_for("DOC-second") in second
