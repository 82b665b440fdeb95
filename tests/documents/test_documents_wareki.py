"""和暦 / 西暦 formatting."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from documents.wareki import format_seireki, format_wareki


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 26), "令和8年11月26日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2020, 1, 1), "令和2年1月1日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1990, 12, 31), "平成2年12月31日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1912, 7, 29), "明治45年7月29日"),
    ],
)
def test_format_wareki_era_boundaries(day: date, expected: str) -> None:
    assert format_wareki(day) == expected


def test_format_wareki_before_meiji_is_refused() -> None:
    with pytest.raises(ValueError, match="Meiji"):
        format_wareki(date(1868, 10, 22))


def test_format_seireki() -> None:
    assert format_seireki(date(2026, 11, 26)) == "2026年11月26日"
    assert format_seireki(date(2026, 1, 5)) == "2026年1月5日"


def test_aware_datetimes_are_dated_in_japan_time() -> None:
    # 20:00 UTC on 25 November is already 05:00 on 26 November in Japan.
    late_utc = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    assert format_wareki(late_utc) == "令和8年11月26日"
    assert format_seireki(late_utc) == "2026年11月26日"
    # The era changed at midnight Japan time, not UTC.
    eve = datetime(2019, 4, 30, 15, 0, tzinfo=UTC)  # 2019-05-01 00:00 JST
    assert format_wareki(eve) == "令和元年5月1日"
    new_york = timezone(timedelta(hours=-5))
    assert format_wareki(datetime(2019, 4, 30, 10, 0, tzinfo=new_york)) == "令和元年5月1日"
    assert format_wareki(datetime(2019, 4, 30, 9, 59, tzinfo=new_york)) == "平成31年4月30日"


def test_naive_datetime_keeps_its_date() -> None:
    assert format_wareki(datetime(2019, 4, 30, 23, 59)) == "平成31年4月30日"
