"""The statistics page's view: the published rows grouped for reading, formatted once.

The rows are the service's own (the same rows its CSV and JSON carry), so the page, its
charts and the downloads cannot disagree: this module only groups them (per procedure ×
municipality × disaster event, one line per month), formats each value the same way for
the chart label and the table cell, and marks suppressed values (``None``) as "—" with a
footnote. It decides nothing about what is published.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from portal.web import i18n, statcharts
from portal.web.stattexts import stat_text
from services.catalogue import CatalogueService

#: The columns that say which cell a row is; every other column is a measure.
KEYS = ("procedure", "municipality", "event", "month")


@dataclass(frozen=True)
class Measure:
    """A published column: its name in the CSV, its title and unit (ja / en)."""

    name: str
    title: dict[str, str]
    unit: str  # "count", "share" (0..1), "days", "hours"


#: The charts drawn for each group: (id, title ja/en, measure names, full bar value).
#: Every other measure is in the group's table only.
CHARTS: tuple[tuple[str, dict[str, str], tuple[str, ...], float | None], ...] = (
    ("volume", {"ja": "申請と決定の件数", "en": "Applications filed and decided"},
     ("filed", "decided"), None),
    ("days", {"ja": "決定までの日数（中央値と90%の人）",
              "en": "Days to a decision (median and 90th percentile)"},
     ("median_days", "p90_days"), None),
    ("shares", {"ja": "期間内の決定・補正・オンラインの割合",
                "en": "Decided in time, corrected, filed online"},
     ("within_standard_share", "correction_share", "online_share"), 1.0),
)


@dataclass
class Cell:
    text: str
    value: float | None
    suppressed: bool = False


@dataclass
class Chart:
    id: str
    title: str
    svg: Markup
    measures: list[Measure]
    rows: list[list[Cell]]  # per month: one cell per measure


@dataclass
class Group:
    id: str
    procedure: str
    municipality: str
    event: str
    title: str
    months: list[str]
    measures: list[Measure]
    rows: list[list[Cell]]  # per month: one cell per measure (the whole table)
    charts: list[Chart] = field(default_factory=list)


def format_value(value: Any, unit: str, lang: str) -> Cell:
    """One value as the table and the chart both write it; ``None`` is suppressed."""
    if value is None or value == "":
        return Cell(statcharts.SUPPRESSED, None, suppressed=True)
    number = float(value)
    if unit == "share":
        return Cell(f"{number * 100:.1f}%", number)
    if unit in ("days", "hours"):
        return Cell(f"{number:.1f}", number)
    return Cell(f"{int(number):,}" if number.is_integer() else f"{number:,.1f}", number)


def groups(
    rows: Iterable[Mapping[str, Any]],
    measures: Sequence[Measure],
    *,
    lang: str,
    title_of: Callable[[str, str, str], str],
    charts: bool = True,
) -> list[Group]:
    """The rows per procedure × municipality × event, months in order.

    :param title_of: ``(procedure, municipality, event)`` -> the group's heading.
    """
    by_key: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        key = (str(row["procedure"]), str(row["municipality"]), str(row.get("event") or ""))
        by_key.setdefault(key, []).append(row)
    shown = [m for m in measures if m.name not in KEYS]
    result = []
    for index, (key, members) in enumerate(sorted(by_key.items())):
        members = sorted(members, key=lambda r: str(r["month"]))
        group = Group(
            id=f"g{index + 1}", procedure=key[0], municipality=key[1], event=key[2],
            title=title_of(*key), months=[str(r["month"]) for r in members], measures=shown,
            rows=[[format_value(r.get(m.name), m.unit, lang) for m in shown] for r in members],
        )
        if charts:
            group.charts = _charts(group, lang)
        result.append(group)
    return result


def _charts(group: Group, lang: str) -> list[Chart]:
    column = {m.name: i for i, m in enumerate(group.measures)}
    made = []
    for chart_id, title, names, peak in CHARTS:
        present = [n for n in names if n in column]
        if not present:
            continue
        picked = [group.measures[column[n]] for n in present]
        rows = [[row[column[n]] for n in present] for row in group.rows]
        series = [statcharts.Series(m.title[lang], [r[i].value for r in rows])
                  for i, m in enumerate(picked)]
        labels = [[r[i].text for r in rows] for i in range(len(picked))]
        ident = f"{group.id}-{chart_id}"
        heading = f"{title[lang]}: {group.title}"
        months = [stat_text("all_months", lang) if m == "all" else m for m in group.months]
        desc = _describe(months, picked, rows, lang)
        svg = statcharts.bar_chart(ident, months, series, title=heading, desc=desc,
                                   labels=labels, peak=peak)
        made.append(Chart(ident, title[lang], svg, picked, rows))
    return made


def _describe(months: Sequence[str], measures: Sequence[Measure],
              rows: Sequence[Sequence[Cell]], lang: str) -> str:
    """The chart in words (its ``<desc>``): every value, month by month."""
    sep, colon = ("、", "：") if lang == "ja" else (", ", ": ")
    lines = []
    for month, row in zip(months, rows, strict=True):
        values = sep.join(f"{m.title[lang]} {c.text}" for m, c in zip(measures, row, strict=True))
        lines.append(f"{month}{colon}{values}")
    return ("。" if lang == "ja" else ". ").join(lines)


def group_titles(catalogue: CatalogueService, lang: str) -> Callable[[str, str, str], str]:
    """The heading of a group: 罹災証明書（千代田区）, or with its disaster event's name."""
    titles = {p.definition.id: p.definition.title.model_dump() for p in catalogue.latest()}
    names = {m.code: m.name.model_dump() for m in catalogue.municipalities()}
    events = {e.id: e.name.model_dump() for m in catalogue.municipalities()
              for e in m.disaster_events}

    def title_of(procedure: str, municipality: str, event: str) -> str:
        values = {"procedure": i18n.pick(titles.get(procedure), lang) or procedure,
                  "municipality": i18n.pick(names.get(municipality), lang) or municipality}
        if event:
            values["event"] = i18n.pick(events.get(event), lang) or event
            return stat_text("group.event", lang, **values)
        return stat_text("group", lang, **values)

    return title_of
