"""開庁日: the days a Japanese municipal office is open.

Not a weekend, not a national holiday (国民の祝日 and 振替休日, from the maintained
``jpholiday`` package), not 年末年始 (29 December – 3 January, 地方自治法 §4の2 and the
municipalities' 休日条例).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import jpholiday

__all__ = ["is_open_day"]


@lru_cache(maxsize=8192)  # a few thousand distinct days; jpholiday's check is slow
def is_open_day(day: date) -> bool:
    """Whether the office is open on ``day`` (a calendar date in Japan)."""
    if day.weekday() >= 5:
        return False
    if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
        return False
    return not jpholiday.is_holiday(day)
