"""Reading the statistics page as data, to hold it against the CSV (#20, h-stats-pages).

A page table's cell is text as people read it (``1,234``, ``87.5%``, ``12.5``, ``—`` for a
suppressed value); :func:`page_number` reads it back, :func:`agrees` compares it with the
CSV's value within the page's rounding, so the comparison does not reuse the page's own
formatting code.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

#: (procedure, municipality, event, month, measure) -> the cell's text / the CSV's value
Cells = dict[tuple[str, str, str, str, str], Any]
KEYS = ("procedure", "municipality", "event", "month")


def page_number(text: str) -> float | None:
    """A page cell's value: None for "—" (suppressed), a share as 0..1."""
    text = text.strip()
    if text.startswith("—"):
        return None
    if text.endswith("%"):
        return float(text[:-1].replace(",", "")) / 100
    return float(text.replace(",", ""))


def agrees(page_text: str, value: str, unit: str) -> bool:
    """Whether the page's cell says what the CSV's value says (empty: suppressed)."""
    shown = page_number(page_text)
    if value.strip() == "":
        return shown is None
    if shown is None:
        return False
    number = float(value)
    tolerance = {"share": 0.0005, "days": 0.05, "hours": 0.05}.get(unit, 0.0)
    return abs(shown - number) <= tolerance + 1e-9


def csv_cells(text: str, measures: Iterable[str]) -> Cells:
    """The CSV's cells by key and measure (the empty event as "")."""
    cells: Cells = {}
    for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
        if "period_kind" in row:  # the service's keys: a month, all months, or an event
            kind, period = row["period_kind"], row["period"]
            row = {**row, "event": period if kind == "disaster_event" else "",
                   "month": period if kind == "month" else "all"}
        key = tuple(str(row.get(k) or "") for k in KEYS)
        for measure in measures:
            cells[(*key, measure)] = row.get(measure) or ""
    return cells


_ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S)
_CELL = re.compile(r"<t([hd])[^>]*>(.*?)</t[hd]>", re.S)


def _text(html: str) -> str:
    without_hidden = re.sub(r'<span class="visually-hidden">.*?</span>', "", html, flags=re.S)
    return re.sub(r"<[^>]+>", "", without_hidden).replace("※", "").strip()


def html_cells(html: str, table_class: str = "stats-table") -> Cells:
    """Every table of class ``table_class`` in the page's HTML, by key and measure."""
    cells: Cells = {}
    for found in re.finditer(rf'<table class="[^"]*\b{table_class}\b[^"]*"([^>]*)>(.*?)</table>',
                             html, re.S):
        attrs = dict(re.findall(r'data-(\w+)="([^"]*)"', found.group(1)))
        head, body = found.group(2).split("<tbody>", 1)
        measures = re.findall(r'data-measure="([^"]+)"', head)
        for row in _ROW.findall(body):
            texts = [_text(c) for _, c in _CELL.findall(row)]
            named = re.search(r'data-month="([^"]*)"', row)
            month, values = (named.group(1) if named else texts[0]), texts[1:]
            assert len(values) == len(measures), (measures, texts)
            for measure, value in zip(measures, values, strict=True):
                key = (attrs["procedure"], attrs["municipality"], attrs.get("event", ""), month,
                       measure)
                cells[key] = value
    return cells


def compare(page: Cells, published: Cells, units: Mapping[str, str]) -> list[str]:
    """The disagreements between the page and the CSV (empty: they agree)."""
    problems = []
    if set(page) != set(published):
        problems.append(f"cells only on the page: {sorted(set(page) - set(published))[:5]}; "
                        f"only in the CSV: {sorted(set(published) - set(page))[:5]}")
    for key in sorted(set(page) & set(published)):
        if not agrees(page[key], published[key], units.get(key[-1], "count")):
            problems.append(f"{key}: page {page[key]!r}, CSV {published[key]!r}")
    return problems
