"""Accessible SVG charts of the public statistics, drawn on the server (no chart script).

Each chart is ``role="img"`` named by its ``<title>`` and described by its ``<desc>``
(``aria-labelledby``, ``aria-describedby``), writes every value beside its bar, and tells
its series apart by pattern as well as colour (solid, hatched, dotted: WCAG 1.4.1), each
colour at least 3:1 against white (1.4.11). A suppressed value has no bar: a dashed
outline and "—" in its place, so a missing bar is never read as zero. The page puts a
data table beside every chart (1.1.1); the numbers are the table's, formatted by the
caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Fills of the series, in order: (colour, pattern); colours >= 3:1 against white.
_FILLS = (("#0017c1", "solid"), ("#a33600", "hatch"), ("#1a6b2f", "dots"))
_TEXT = "#1a1a1a"
_AXIS = "#595959"
SUPPRESSED = "—"


@dataclass(frozen=True)
class Series:
    """One series of a chart: its name (for the legend) and one value per category, None
    where the value is suppressed or not published."""

    name: str
    values: Sequence[float | None]


def _defs(chart_id: str) -> str:
    hatch, dots = _FILLS[1][0], _FILLS[2][0]
    return (
        "<defs>"
        f'<pattern id="{chart_id}-hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="8" height="8" fill="#ffffff"/>'
        f'<rect width="4" height="8" fill="{hatch}"/></pattern>'
        f'<pattern id="{chart_id}-dots" width="7" height="7" patternUnits="userSpaceOnUse">'
        f'<rect width="7" height="7" fill="{dots}"/>'
        '<circle cx="3.5" cy="3.5" r="1.6" fill="#ffffff"/></pattern>'
        "</defs>"
    )


def _fill(chart_id: str, index: int) -> tuple[str, str]:
    """(fill, outline) of series ``index``."""
    colour, pattern = _FILLS[index % len(_FILLS)]
    if pattern == "solid":
        return colour, colour
    return f"url(#{chart_id}-{pattern})", colour


def bar_chart(
    chart_id: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    labels: Sequence[Sequence[str]],
    peak: float | None = None,
) -> Markup:
    """Grouped vertical bars: one group per category (a month), one bar per series.

    :param chart_id: unique on the page (ids of the title, description and patterns).
    :param labels: the text written above each bar, ``labels[s][c]`` for series ``s`` and
        category ``c`` (the table's own formatting, so chart and table say the same).
    :param peak: the value of a full-height bar (e.g. 100 for shares); default the largest.
    """
    top, plot_h, bottom, left = 28, 170, 64, 8
    bar_w, gap = 30, 18
    group_w = bar_w * len(series) + gap
    # The legend one series a line: a long name never widens (and so shrinks) the chart.
    legend_h = 24 * len(series) + 4 if len(series) > 1 else 0
    longest = max((sum(1.0 if ord(c) > 0x2E7F else 0.6 for c in one.name) for one in series),
                  default=0)
    width = max(left * 2 + group_w * len(categories), 200,
                round(left + 32 + longest * 14) if legend_h else 0)
    height = legend_h + top + plot_h + bottom
    base = legend_h + top + plot_h
    values = [v for s in series for v in s.values if v is not None]
    scale = peak or max(values, default=0) or 1
    parts = [_defs(chart_id)]
    if legend_h:
        for index, one in enumerate(series):
            fill, outline = _fill(chart_id, index)
            y = 4 + index * 24
            parts.append(
                f'<rect x="{left}" y="{y}" width="18" height="18" fill="{fill}" '
                f'stroke="{outline}"/>'
                f'<text x="{left + 24}" y="{y + 14}" font-size="14" fill="{_TEXT}">'
                f"{escape(one.name)}</text>"
            )
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{width - left}" y2="{base}" stroke="{_AXIS}"/>'
    )
    for c, category in enumerate(categories):
        gx = left + gap / 2 + c * group_w
        for s, one in enumerate(series):
            x = gx + s * bar_w
            value = one.values[c]
            text = labels[s][c]
            if value is None:
                parts.append(
                    f'<rect x="{x + 3}" y="{base - 40}" width="{bar_w - 6}" height="40" '
                    f'fill="none" stroke="{_AXIS}" stroke-dasharray="4 3"/>'
                )
                y = base - 46
            else:
                length = max(round(plot_h * min(value / scale, 1.0)), 1 if value else 0)
                fill, outline = _fill(chart_id, s)
                parts.append(
                    f'<rect x="{x + 3}" y="{base - length}" width="{bar_w - 6}" '
                    f'height="{length}" fill="{fill}" stroke="{outline}"/>'
                )
                y = base - length - 6
            parts.append(
                f'<text x="{x + bar_w / 2}" y="{y}" text-anchor="middle" font-size="12" '
                f'fill="{_TEXT}">{escape(text)}</text>'
            )
        cx = gx + (group_w - gap) / 2
        parts.append(
            f'<text x="{cx}" y="{base + 18}" text-anchor="end" font-size="12" fill="{_TEXT}" '
            f'transform="rotate(-40 {cx} {base + 18})">{escape(category)}</text>'
        )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'role="img" aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc" '
        'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>' + "".join(parts) + "</svg>"
    )
