"""Finding a Japanese font through fontconfig.

WeasyPrint picks fonts through fontconfig. With no Japanese font installed it does not
fail: the PDF shows empty boxes while its text layer (``pdftotext``) still looks right, so
a broken certificate would pass any text-based check. We therefore ask fontconfig up front
and refuse to render when it knows no font that covers Japanese.

"Covers Japanese" is fontconfig's own judgement (``:lang=ja``: the font has the glyphs of
fontconfig's Japanese orthography, thousands of kanji), so DejaVu or Liberation never
qualify, whatever fallback fontconfig would otherwise choose.
"""

from __future__ import annotations

import subprocess

__all__ = ["INSTALL_HINT", "PREFERRED_FAMILIES", "JapaneseFontMissing", "find_japanese_font"]

INSTALL_HINT = "apt-get install fonts-ipaexfont"

#: Families preferred when several Japanese fonts are installed, in order. Mincho (serif)
#: first: it is what printed municipal certificates use for their body text.
PREFERRED_FAMILIES: tuple[str, ...] = (
    "IPAexMincho",
    "BIZ UDMincho",
    "BIZ UDPMincho",
    "IPAMincho",
    "Noto Serif CJK JP",
    "IPAexGothic",
    "BIZ UDGothic",
    "BIZ UDPGothic",
    "IPAGothic",
    "Noto Sans CJK JP",
)

_FC_TIMEOUT_SECONDS = 60  # a first run on a fresh machine may build the font cache


class JapaneseFontMissing(RuntimeError):
    """No font that covers Japanese is known to fontconfig, so documents would show boxes.

    The message tells the operator what to install.
    """


def _run_fontconfig(*args: str) -> str:
    try:
        completed = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            check=True,
            timeout=_FC_TIMEOUT_SECONDS,
        )
    except FileNotFoundError as exc:
        raise JapaneseFontMissing(
            f"fontconfig's {args[0]!r} command was not found, so no Japanese font can be "
            f"located; install fontconfig and a Japanese font: "
            f"apt-get install fontconfig fonts-ipaexfont"
        ) from exc
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        stderr = getattr(exc, "stderr", "") or ""
        raise JapaneseFontMissing(
            f"fontconfig could not list fonts ({exc}; {stderr.strip()!r}); check the fontconfig "
            f"installation and that a Japanese font is installed: {INSTALL_HINT}"
        ) from exc
    return completed.stdout


def _japanese_families() -> set[str]:
    # family[0] is the family's primary (usually Latin) name, e.g. "IPAexMincho" rather than
    # "IPAex明朝": the name CSS and the PDF font list use.
    output = _run_fontconfig("fc-list", "--format=%{family[0]}\\n", ":lang=ja")
    return {line.strip() for line in output.splitlines() if line.strip()}


def find_japanese_font() -> str:
    """Return the family name of an installed font that covers Japanese.

    Families in :data:`PREFERRED_FAMILIES` win, in that order; otherwise fontconfig's own
    best match for ``:lang=ja`` is used.

    This runs ``fc-list``/``fc-match`` (honouring ``FONTCONFIG_FILE`` and friends); callers
    that render many documents should call it once and keep the result.

    :raises JapaneseFontMissing: if fontconfig knows no Japanese font, or cannot be run.
        The message names the package to install (``fonts-ipaexfont``).
    """
    families = _japanese_families()
    if not families:
        raise JapaneseFontMissing(
            "No Japanese font is installed (fontconfig finds none for ':lang=ja'); issued "
            "documents would show empty boxes instead of Japanese text. Install one, e.g. "
            f"{INSTALL_HINT}"
        )
    for family in PREFERRED_FAMILIES:
        if family in families:
            return family
    best = _run_fontconfig("fc-match", "--format=%{family[0]}", ":lang=ja").strip()
    if best in families:
        return best
    return sorted(families)[0]
