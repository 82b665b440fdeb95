"""The statistics measures from hand-built milestones, the suppression rules (primary and
secondary), and an attacker who tries to isolate fewer than 10 cases by differencing the
published totals, months and disaster events."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from records.db import create_schema, make_engine
from records.milestones import CaseFacts, Milestone
from records.statistics import MilestoneStore
from services.business_days import is_open_day
from services.disclosure import suppress
from services.statistics import (
    COLUMNS,
    CaseOutline,
    StatisticsService,
    counted_days,
    unsuppressed_rows,
)

JST = timezone(timedelta(hours=9))


def jst(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=JST).astimezone(UTC)


def _case(n: int, filed: datetime, *, decided: datetime | None = None, outcome: str = "approved",
          corrections: list[tuple[datetime, datetime | None]] | None = None,
          channel: str = "online", event: str | None = None, first: datetime | None = None,
          procedure: str = "disaster-certificate", municipality: str = "131016"
          ) -> list[Milestone]:
    facts = CaseFacts(application_id=f"wf-{n:04d}", procedure=procedure,
                      municipality=municipality, channel=channel,  # type: ignore[arg-type]
                      disaster_event=event, standard_days=30).model_dump()
    rows = [Milestone(key="filed", kind="filed", at=filed, **facts)]
    index = 1
    if first is not None:
        rows.append(Milestone(key=f"first_action:{index}", kind="first_action", at=first,
                              **facts))
    for asked, answered in corrections or []:
        index += 1
        rows.append(Milestone(key=f"correction_requested:{index}", kind="correction_requested",
                              at=asked, **facts))
        if answered is not None:
            index += 1
            rows.append(Milestone(key=f"correction_answered:{index}",
                                  kind="correction_answered", at=answered, **facts))
    if decided is not None:
        rows.append(Milestone(key=f"decided:{index + 1}", kind="decided", at=decided,
                              outcome=outcome, **facts))  # type: ignore[arg-type]
    return rows


def _outline(rows: list[Milestone]) -> CaseOutline:
    from services.statistics import cases_from

    (case,) = cases_from(rows)
    return case


# ---- days ---------------------------------------------------------------------------------


def test_open_days_leave_out_weekends_national_holidays_and_the_new_year():
    assert is_open_day(jst(2026, 11, 24).date())           # a Tuesday
    assert not is_open_day(jst(2026, 11, 23).date())       # 勤労感謝の日 (a Monday)
    assert not is_open_day(jst(2026, 11, 21).date())       # Saturday
    assert not is_open_day(jst(2026, 12, 29).date())       # 年末年始 (a Tuesday)
    assert is_open_day(jst(2027, 1, 4).date()) is not False  # 4 January is open again
    assert not is_open_day(jst(2027, 1, 11).date())        # 成人の日


def test_days_to_decision_over_a_holiday():
    # Filed Friday 20 Nov, decided Wednesday 25 Nov: 21, 22, 23 (holiday), 24, 25.
    case = _outline(_case(1, jst(2026, 11, 20), decided=jst(2026, 11, 25)))
    assert counted_days(case, business=False) == 5
    assert counted_days(case, business=True) == 2  # 24 and 25


def test_days_to_decision_leave_out_a_correction_pause_and_the_new_year():
    # Filed Mon 21 Dec; correction asked 22 Dec, answered 24 Dec; decided Tue 5 Jan.
    case = _outline(_case(2, jst(2026, 12, 21), decided=jst(2027, 1, 5),
                          corrections=[(jst(2026, 12, 22), jst(2026, 12, 24))]))
    # 22 Dec .. 5 Jan is 15 days; 23 and 24 Dec were paused.
    assert counted_days(case, business=False) == 13
    # Open days left: 22, 25, 28 Dec, 4 and 5 Jan (29 Dec-3 Jan closed).
    assert counted_days(case, business=True) == 5


def test_an_unanswered_correction_pauses_until_the_decision():
    case = _outline(_case(3, jst(2026, 11, 2), decided=jst(2026, 11, 20), outcome="closed",
                          corrections=[(jst(2026, 11, 4), None)]))
    assert counted_days(case, business=False) == 2  # 3 and 4 November count


# ---- measures -------------------------------------------------------------------------------


def _service(milestones: list[Milestone]) -> StatisticsService:
    engine = make_engine("sqlite://")
    create_schema(engine)
    store = MilestoneStore(engine)
    store.append(milestones)
    return StatisticsService(store)


def test_measures_of_a_month():
    rows: list[Milestone] = []
    # 12 cases filed in November 2026; decided after 1..10 calendar days (cases 0-9),
    # case 10 withdrawn, case 11 still open. Cases 0 and 1 had a correction; 2 at the counter.
    for n in range(12):
        filed = jst(2026, 11, 2) + timedelta(hours=n)
        if n < 10:
            rows += _case(n, filed, decided=filed + timedelta(days=n + 1),
                          outcome="rejected" if n == 9 else "approved",
                          corrections=[(filed + timedelta(hours=1), filed + timedelta(hours=2))]
                          if n < 2 else None,
                          channel="counter" if n == 2 else "online",
                          first=filed + timedelta(hours=2 * (n + 1)))
        elif n == 10:
            rows += _case(n, filed, decided=filed + timedelta(days=1), outcome="withdrawn")
        else:
            rows += _case(n, filed)
    table = _service(rows).public_table()
    month = next(r for r in table.rows if r.period_kind == "month")
    assert (month.period, month.filed, month.decided) == ("2026-11", 12, 10)
    assert month.approved_share == round(9 / 11, 3)
    assert month.rejected_share == round(1 / 11, 3)
    assert month.withdrawn_share == round(1 / 11, 3)
    assert month.correction_share == round(2 / 12, 3)
    assert month.online_share == round(11 / 12, 3)
    assert month.median_days == 5.5             # days 1..10
    assert month.p90_days == 9.1                # linear: 9 + 0.1 * (10 - 9)
    assert month.within_standard_share == 1.0
    assert month.median_hours_to_first_action == 11.0  # 2, 4, .., 20 hours
    assert not month.suppressed and not month.durations_suppressed


def test_durations_need_ten_decided_cases():
    rows = [m for n in range(12)
            for m in _case(n, jst(2026, 11, 2), decided=jst(2026, 11, 5) if n < 9 else None)]
    month = next(r for r in _service(rows).public_table().rows if r.period_kind == "month")
    assert month.filed == 12 and month.decided == 9
    assert month.durations_suppressed and month.median_days is None
    assert month.within_standard_share is None


# ---- suppression ------------------------------------------------------------------------


def _cases(counts: dict[tuple[str, str | None], int]) -> list[Milestone]:
    """counts: (month 'YYYY-MM', event or None) → how many cases."""
    rows: list[Milestone] = []
    n = 0
    for (month, event), count in counts.items():
        year, mon = map(int, month.split("-"))
        for _ in range(count):
            rows += _case(n, jst(year, mon, 10), event=event)
            n += 1
    return rows


def _by_period(rows) -> dict[tuple[str, str], object]:
    return {(r.period_kind, r.period): r for r in rows}


def test_a_small_month_is_suppressed_and_so_is_the_next_smallest():
    table = _service(_cases({("2026-09", None): 15, ("2026-10", None): 3,
                              ("2026-11", None): 12})).public_table()
    rows = _by_period(table.rows)
    assert rows[("month", "2026-10")].suppression == "fewer_than_10"
    assert rows[("month", "2026-11")].suppression == "secondary"
    assert rows[("month", "2026-11")].filed is None
    assert not rows[("month", "2026-09")].suppressed and rows[("month", "2026-09")].filed == 15
    assert rows[("total", "all")].filed == 30


def test_an_event_that_would_reveal_the_cases_of_no_event_is_suppressed():
    table = _service(_cases({("2026-09", "typhoon"): 25, ("2026-10", None): 5,
                             ("2026-10", "typhoon"): 0})).public_table()
    rows = _by_period(table.rows)
    assert rows[("disaster_event", "typhoon")].suppression == "secondary"


def test_an_event_inside_one_month_that_differs_from_it_by_under_10_is_suppressed():
    table = _service(_cases({("2026-09", "typhoon"): 12, ("2026-09", None): 2,
                             ("2026-10", None): 16})).public_table()
    rows = _by_period(table.rows)
    assert rows[("month", "2026-09")].filed == 14      # published
    assert rows[("total", "all")].filed == 30          # 30 - 12 = 18: no leak by the total
    assert rows[("disaster_event", "typhoon")].suppression == "secondary"  # 14 - 12 = 2


def test_a_municipality_under_10_in_all_publishes_nothing():
    table = _service(_cases({("2026-09", "typhoon"): 4, ("2026-10", None): 5})).public_table()
    assert table.rows and all(r.suppressed and r.filed is None for r in table.rows)


def _attack(rows, truth: dict[tuple[str, str], int]) -> list[str]:
    """Every group of 1-9 cases an attacker can isolate by differencing published counts
    (with the worst-case knowledge of which months each event's cases fall in)."""
    shown = {(r.period_kind, r.period): r.filed for r in rows if r.filed is not None}
    found = []
    total = shown.get(("total", "all"))
    if total is None:
        return found
    months = [k for k in shown if k[0] == "month"]
    events = [k for k in shown if k[0] == "disaster_event"]
    for kind in (months, events):
        for size in range(len(kind) + 1):
            for chosen in itertools.combinations(kind, size):
                left = total - sum(shown[k] for k in chosen)
                if 0 < left < 10:
                    found.append(f"total - {chosen} = {left}")
    for size in range(1, len(months) + 1):
        for span in itertools.combinations(months, size):
            inside = [e for e in events
                      if all(m in {s[1] for s in span} for m in truth[e])]
            for k in range(1, len(inside) + 1):
                for chosen in itertools.combinations(inside, k):
                    left = sum(shown[m] for m in span) - sum(shown[e] for e in chosen)
                    if 0 < left < 10:
                        found.append(f"{span} - {chosen} = {left}")
    return found


def test_no_difference_of_published_counts_isolates_fewer_than_10_cases():
    """An attacker's try: 300 random installations (months, events, small and large
    cells), every published output differenced against every other."""
    rng = random.Random(20)
    naive_leaks = 0
    for _ in range(300):
        counts: dict[tuple[str, str | None], int] = {}
        for month in ("2026-08", "2026-09", "2026-10", "2026-11")[:rng.randint(1, 4)]:
            for event in (None, "typhoon", "rain")[:rng.randint(1, 3)]:
                counts[(month, event)] = rng.choice([0, 1, 2, 3, 5, 8, 9, 10, 11, 14, 20, 30])
        milestones = _cases(counts)
        from services.statistics import cases_from

        cases = cases_from(milestones)
        rows = suppress(unsuppressed_rows(cases), cases)
        truth = {("disaster_event", e): {m for (m, ev), c in counts.items() if ev == e and c}
                 for e in ("typhoon", "rain")}
        leaks = _attack(rows, truth)
        assert leaks == [], (counts, leaks)
        # The same attack on primary suppression alone does find cases: it is a real one.
        primary = [r.model_copy(update={"filed": None}) if (r.filed or 0) < 10 else r
                   for r in unsuppressed_rows(cases)]
        naive_leaks += bool(_attack(primary, truth))
        for row in rows:
            assert row.suppressed or (row.filed or 0) >= 10
    assert naive_leaks > 50


# ---- files ------------------------------------------------------------------------------


def test_csv_and_json_have_the_same_cells_in_the_documented_column_order():
    service = _service(_cases({("2026-09", "typhoon"): 12, ("2026-10", None): 3}))
    raw = service.csv()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [c[0] for c in COLUMNS]
    body = json.loads(service.json())
    assert [list(r) for r in body["rows"]] == [[c[0] for c in COLUMNS]] * len(body["rows"])
    assert len(body["rows"]) == len(rows) - 1
    for line, item in zip(rows[1:], body["rows"], strict=True):
        assert line[6] == ("" if item["filed"] is None else str(item["filed"]))
    assert service.csv() == raw  # stable


def test_the_dataset_description_names_licence_publisher_coverage_and_columns():
    service = _service(_cases({("2026-09", None): 12, ("2026-11", None): 10}))
    description = service.dataset_description()
    assert description["dct:license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert description["dct:title"]["ja"] and description["dct:title"]["en"]
    assert [p["dct:identifier"] for p in description["dct:publisher"]] == ["131016"]
    assert description["dct:temporal"] == {"dcat:startDate": "2026-09",
                                           "dcat:endDate": "2026-11"}
    assert {c["name"] for c in description["columns"]} == {c[0] for c in COLUMNS}
    assert all(c["unit"] and c["title"]["ja"] and c["title"]["en"]
               for c in description["columns"])


@pytest.mark.parametrize("now_offset_days, overdue", [(10, False), (40, True)])
def test_the_internal_view_is_unsuppressed_and_lists_open_cases(now_offset_days, overdue):
    rows = _case(1, jst(2026, 11, 2)) + _case(2, jst(2026, 11, 2), decided=jst(2026, 11, 3))
    internal = _service(rows).internal("131016",
                                       now=jst(2026, 11, 2) + timedelta(days=now_offset_days))
    assert internal.rows[0].filed == 2 and not internal.rows[0].suppressed
    assert [c.application_id for c in internal.open_cases] == ["wf-0001"]
    assert [c.application_id for c in internal.overdue] == (["wf-0001"] if overdue else [])
