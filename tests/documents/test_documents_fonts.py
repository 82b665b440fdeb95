"""Japanese font discovery through fontconfig."""

import subprocess
import sys
from pathlib import Path

import pytest

from documents.fonts import JapaneseFontMissing, find_japanese_font
from documents.render import DocumentRenderer

CERTIFICATE_TEMPLATES = (
    Path(__file__).resolve().parents[2] / "forms/catalog/disaster-certificate/templates"
)


def _fontconfig_without_japanese(tmp_path: Path) -> Path:
    """A fontconfig file that knows only DejaVu (or nothing, where DejaVu is absent)."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<fontconfig>\n"
        "  <dir>/usr/share/fonts/truetype/dejavu</dir>\n"
        f"  <cachedir>{tmp_path / 'cache'}</cachedir>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return conf


def test_finds_ipaex_here() -> None:
    family = find_japanese_font()
    assert family.startswith("IPAex")
    listed = subprocess.run(
        ["fc-list", ":lang=ja", "family"], capture_output=True, text=True, check=True
    ).stdout
    assert family in listed


def test_missing_japanese_font_is_reported_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FONTCONFIG_FILE", str(_fontconfig_without_japanese(tmp_path)))
    with pytest.raises(JapaneseFontMissing, match="apt-get install fonts-ipaexfont"):
        find_japanese_font()


def test_missing_font_fails_in_a_fresh_process(tmp_path: Path) -> None:
    """The whole check in a separate interpreter, as a worker would start."""
    env = {
        "FONTCONFIG_FILE": str(_fontconfig_without_japanese(tmp_path)),
        "PATH": "/usr/bin:/bin",
    }
    code = (
        "from documents.fonts import JapaneseFontMissing, find_japanese_font\n"
        "try:\n"
        "    find_japanese_font()\n"
        "except JapaneseFontMissing as exc:\n"
        "    print(exc)\n"
        "    raise SystemExit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done.stderr
    assert "apt-get install fonts-ipaexfont" in done.stdout


def test_renderer_refuses_to_render_without_japanese_font(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FONTCONFIG_FILE", str(_fontconfig_without_japanese(tmp_path)))
    renderer = DocumentRenderer()
    with pytest.raises(JapaneseFontMissing):
        renderer.render_pdf(
            CERTIFICATE_TEMPLATES,
            "certificate.html",
            {},
            identifier="DOC-00000000",
            title="罹災証明書",
        )


def test_missing_fc_list_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no fc-list
    with pytest.raises(JapaneseFontMissing, match="fonts-ipaexfont"):
        find_japanese_font()
