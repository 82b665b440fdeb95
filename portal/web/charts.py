"""Numbers and server-rendered SVG charts of the caseworker dashboard.

Everything here is computed from visibility rows (``CaseSummary``: search attributes and
start / close times), never from case data, so the dashboard holds no personal data.
Charts are plain SVG built on the server (no JavaScript): ``role="img"`` with a title and
the values written next to the bars; the page shows the same numbers in a table too, so
nothing is conveyed by colour or by the picture alone (WCAG 1.1.1, 1.4.1).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup, escape

from portal.web.i18n import JST

#: Statuses of a case that is over (the others are still being worked on).
CLOSED = frozenset({"completed", "rejected", "withdrawn", "closed"})
#: Upper bounds of the bands of "share of the legal period used": <50 %, 50–80, 80–100, over.
BANDS = (0.5, 0.8, 1.0)
DAYS = 14


@dataclass
class CaseStatistics:
    total: int = 0
    per_day: list[tuple[datetime, int]] = field(default_factory=list)  # JST midnight, count
    per_stage: list[tuple[str, int]] = field(default_factory=list)  # open cases
    open_bands: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    closed_bands: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    closed_days: list[float] = field(default_factory=list)

    @property
    def median_closed_days(self) -> float | None:
        return round(statistics.median(self.closed_days), 1) if self.closed_days else None


def _band(share: float) -> int:
    for index, bound in enumerate(BANDS):
        if share < bound:
            return index
    return len(BANDS)


def case_statistics(
    rows: Iterable[Any], periods: dict[str, int], *, now: datetime, days: int = DAYS
) -> CaseStatistics:
    """Counts for the dashboard.

    :param rows: ``CaseSummary`` rows (``closed_at`` is used when the rows carry it).
    :param periods: procedure id -> its legal processing period (標準処理期間) in days.
    :param now: the current moment (aware).

    An open case's share of the period is read from its ``due_at`` when it has one (the
    deadline already moves while a correction is pending), else from its age; a closed
    case's is the time from filing to closing.
    """
    stats = CaseStatistics()
    today = now.astimezone(JST).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=days - 1)
    per_day = {first + timedelta(days=i): 0 for i in range(days)}
    per_stage: dict[str, int] = {}
    for row in rows:
        stats.total += 1
        started = row.started_at
        if started is not None:
            day = started.astimezone(JST).replace(hour=0, minute=0, second=0, microsecond=0)
            if day in per_day:
                per_day[day] += 1
        period = periods.get(row.procedure or "")
        if row.status in CLOSED:
            closed_at = getattr(row, "closed_at", None)
            if closed_at is not None and started is not None:
                taken = (closed_at - started).total_seconds() / 86400
                stats.closed_days.append(taken)
                if period:
                    stats.closed_bands[_band(taken / period)] += 1
            continue
        per_stage[row.stage or ""] = per_stage.get(row.stage or "", 0) + 1
        if not period:
            continue
        if row.due_at is not None:
            used = period - (row.due_at - now).total_seconds() / 86400
        elif started is not None:
            used = (now - started).total_seconds() / 86400
        else:
            continue
        stats.open_bands[_band(used / period)] += 1
    stats.per_day = sorted(per_day.items())
    stats.per_stage = sorted(per_stage.items(), key=lambda item: (-item[1], item[0]))
    return stats


_BLUE = "#0017c1"
_RED = "#ce0000"
_TEXT = "#1a1a1a"
_LINE = "#767676"


def bar_chart(
    items: Sequence[tuple[str, int]],
    *,
    label: str,
    horizontal: bool = False,
    highlight: Iterable[int] = (),
) -> Markup:
    """An SVG bar chart of ``(label, value)`` with the value written at each bar.

    Vertical bars (one per day) or horizontal ones (long labels such as stages). Bars in
    ``highlight`` (indices) are red and their label is already explicit in the text.
    """
    marked = set(highlight)
    peak = max((v for _, v in items), default=0) or 1
    if horizontal:
        row, bar_w = 36, 300
        # Wide enough for the longest label (a full-width character is ~1 em at 15 px).
        longest = max(
            (sum(1.0 if ord(c) > 0x2E7F else 0.6 for c in n) for n, _ in items), default=8
        )
        label_w = round(min(max(longest * 15 + 16, 120), 480))
        height = max(row * len(items), row)
        parts = []
        for i, (name, value) in enumerate(items):
            y = i * row
            length = round(bar_w * value / peak)
            colour = _RED if i in marked else _BLUE
            parts.append(
                f'<text x="{label_w - 8}" y="{y + 23}" text-anchor="end" font-size="15" '
                f'fill="{_TEXT}">{escape(name)}</text>'
                f'<rect x="{label_w}" y="{y + 6}" width="{max(length, 2)}" height="24" '
                f'fill="{colour}"/>'
                f'<text x="{label_w + max(length, 2) + 6}" y="{y + 23}" font-size="15" '
                f'fill="{_TEXT}">{value}</text>'
            )
        width = label_w + bar_w + 60
    else:
        column, chart_h, top = 44, 180, 24
        width = max(column * len(items), column) + 16
        height = top + chart_h + 56
        parts = [
            f'<line x1="8" y1="{top + chart_h}" x2="{width - 8}" y2="{top + chart_h}" '
            f'stroke="{_LINE}"/>'
        ]
        for i, (name, value) in enumerate(items):
            x = 8 + i * column
            length = round(chart_h * value / peak)
            colour = _RED if i in marked else _BLUE
            short = name.split("年")[-1] if "年" in name else " ".join(name.split(" ")[:2])
            parts.append(
                f'<rect x="{x + 8}" y="{top + chart_h - length}" width="{column - 16}" '
                f'height="{length}" fill="{colour}"/>'
                f'<text x="{x + column / 2}" y="{top + chart_h - length - 6}" '
                f'text-anchor="middle" font-size="14" fill="{_TEXT}">{value}</text>'
                f'<text x="{x + column / 2}" y="{top + chart_h + 20}" text-anchor="middle" '
                f'font-size="12" fill="{_TEXT}" transform="rotate(-45 {x + column / 2} '
                f'{top + chart_h + 20})">{escape(short)}</text>'
            )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'role="img" aria-label="{escape(label)}" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
        + "".join(parts)
        + "</svg>"
    )


def band_chart(
    series: Sequence[tuple[str, list[int]]], bands: Sequence[str], *, label: str
) -> Markup:
    """Horizontal bars "series・band" (e.g. 処理中・80〜100%); the over-period band in red."""
    items: list[tuple[str, int]] = []
    highlight = []
    for name, counts in series:
        for index, band in enumerate(bands):
            if index == len(bands) - 1:
                highlight.append(len(items))
            items.append((f"{name}・{band}", counts[index]))
    return bar_chart(items, label=label, horizontal=True, highlight=highlight)
