"""Japanese calendar (和暦) and Western (西暦) date formatting for issued documents.

Municipal documents print dates in 和暦 (``令和8年11月26日``), often with the 西暦 next to
it. The first year of an era is written 元年, not 1年.

Aware datetimes are converted to Japan time (UTC+9, no daylight saving) before the date is
taken, so a document issued at 2026-11-25T20:00Z is dated 26 November: the date a resident
in Japan sees on the wall clock. Naive datetimes and plain dates are used as they are.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

__all__ = ["ERAS", "JST", "format_seireki", "format_wareki", "to_japan_date"]

#: Japan Standard Time. A fixed offset: Japan has no daylight saving time.
JST = timezone(timedelta(hours=9), "JST")

#: Eras, newest first: (name, first day in the Gregorian calendar). 明治 is counted from
#: its Gregorian start; dates before 1873 were kept in the lunisolar calendar and are not
#: something an issued document needs.
ERAS: tuple[tuple[str, date], ...] = (
    ("令和", date(2019, 5, 1)),
    ("平成", date(1989, 1, 8)),
    ("昭和", date(1926, 12, 25)),
    ("大正", date(1912, 7, 30)),
    ("明治", date(1868, 10, 23)),
)


def to_japan_date(d: date) -> date:
    """Return the calendar date of ``d`` in Japan.

    :param d: a date, or a datetime; an aware datetime is converted to Japan time first.
    """
    if isinstance(d, datetime):
        if d.tzinfo is not None and d.utcoffset() is not None:
            d = d.astimezone(JST)
        return d.date()
    return d


def format_wareki(d: date) -> str:
    """Format ``d`` in the Japanese era calendar, e.g. ``令和8年11月26日``.

    :param d: a date or datetime (aware datetimes are taken in Japan time).
    :raises ValueError: if ``d`` is before the 明治 era.
    """
    day = to_japan_date(d)
    for name, start in ERAS:
        if day >= start:
            year = day.year - start.year + 1
            year_text = "元" if year == 1 else str(year)
            return f"{name}{year_text}年{day.month}月{day.day}日"
    raise ValueError(f"{day.isoformat()} is before the Meiji era; no 和暦 for it")


def format_seireki(d: date) -> str:
    """Format ``d`` in the Western calendar the Japanese way, e.g. ``2026年11月26日``.

    :param d: a date or datetime (aware datetimes are taken in Japan time).
    """
    day = to_japan_date(d)
    return f"{day.year}年{day.month}月{day.day}日"
