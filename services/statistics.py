"""Open statistics (見える化): how each procedure performs, with no one identifiable.

Built from the milestones read model (``records.statistics``), never from Temporal per
request. The public table has one row per procedure × municipality × month of filing (Asia/
Tokyo), one per procedure × municipality over all months, and one per procedure ×
municipality × disaster event; small cells are suppressed (see ``services.disclosure``).
The internal table is the same without suppression, for one municipality's own staff.
Definitions of every measure: docs/statistics.md.
"""

from __future__ import annotations

import csv
import io
import json
import statistics as pystats
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from records.milestones import Milestone
from records.statistics import MilestoneStore
from services.business_days import is_open_day

__all__ = [
    "COLUMNS",
    "CaseOutline",
    "InternalDashboard",
    "OpenCase",
    "PeriodKind",
    "StatisticsRow",
    "StatisticsService",
    "StatisticsTable",
    "cases_from",
    "measure",
]

JST = timezone(timedelta(hours=9), "JST")
#: A cell of fewer cases than this is not published.
MIN_CASES = 10
#: Durations are published only for cells of at least this many decided cases.
MIN_DECIDED = 10
LICENCE = "https://creativecommons.org/licenses/by/4.0/"

PeriodKind = Literal["month", "total", "disaster_event"]
Suppression = Literal["fewer_than_10", "secondary"]
DECIDED_OUTCOMES = ("approved", "rejected", "closed")


class StatisticsRow(BaseModel):
    """One published cell. A suppressed cell has every measure None and says why."""

    model_config = ConfigDict(extra="forbid")

    procedure: str
    municipality: str = Field(description="地方公共団体コード")
    period_kind: PeriodKind
    period: str = Field(description="YYYY-MM (month of filing, Japan time), 'all', or the "
                                    "disaster event's code")
    suppressed: bool = False
    suppression: Suppression | None = None
    filed: int | None = None
    decided: int | None = None
    approved_share: float | None = None
    rejected_share: float | None = None
    withdrawn_share: float | None = None
    closed_share: float | None = None
    median_days: float | None = None
    p90_days: float | None = None
    median_business_days: float | None = None
    p90_business_days: float | None = None
    within_standard_share: float | None = None
    correction_share: float | None = None
    online_share: float | None = None
    median_hours_to_first_action: float | None = None
    durations_suppressed: bool = Field(
        default=False, description="fewer than 10 decided cases: no durations published")


class StatisticsTable(BaseModel):
    """The public table as of a moment."""

    as_of: datetime
    rows: list[StatisticsRow]


class OpenCase(BaseModel):
    """An open case for the municipality's own staff (opaque id only)."""

    application_id: str
    procedure: str
    filed_at: datetime
    awaiting_correction: bool
    due_at: datetime = Field(description="filing + 標準処理期間, plus the time corrections "
                                         "were pending")
    overdue: bool


class InternalDashboard(BaseModel):
    """A municipality's own numbers, unsuppressed (staff only). Backlog by stage and
    caseworker load are visibility queries (services.queues): the read model does not
    follow stages."""

    municipality: str
    as_of: datetime
    rows: list[StatisticsRow]
    open_cases: list[OpenCase]

    @property
    def overdue(self) -> list[OpenCase]:
        return [case for case in self.open_cases if case.overdue]


#: (column, unit, ja, en) in the order of the CSV.
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("procedure", "code", "手続", "Procedure id"),
    ("municipality", "code", "地方公共団体コード", "Municipality code"),
    ("period_kind", "code", "集計単位(month/total/disaster_event)",
     "Kind of period (month, total, disaster_event)"),
    ("period", "text", "期間(申請月 YYYY-MM、all、災害コード)",
     "Period: month of filing YYYY-MM (Japan time), all, or disaster event code"),
    ("suppressed", "boolean", "秘匿", "Suppressed"),
    ("suppression", "code", "秘匿の理由(fewer_than_10/secondary)",
     "Why suppressed: fewer_than_10 or secondary"),
    ("filed", "cases", "申請件数", "Applications filed"),
    ("decided", "cases", "処分件数(承認・却下・終了)", "Decided (approved, rejected, closed)"),
    ("approved_share", "ratio", "承認の割合(終結した申請に占める)", "Share approved of ended"),
    ("rejected_share", "ratio", "却下の割合", "Share rejected of ended"),
    ("withdrawn_share", "ratio", "取下げの割合", "Share withdrawn of ended"),
    ("closed_share", "ratio", "補正期限切れ等による終了の割合", "Share closed (e.g. correction "
     "not answered in time) of ended"),
    ("median_days", "days", "処分までの日数(中央値、暦日、補正中を除く)",
     "Median calendar days to decision, correction time excluded"),
    ("p90_days", "days", "処分までの日数(90パーセンタイル、暦日)",
     "90th percentile calendar days to decision"),
    ("median_business_days", "days", "処分までの開庁日数(中央値)",
     "Median business days (開庁日) to decision"),
    ("p90_business_days", "days", "処分までの開庁日数(90パーセンタイル)",
     "90th percentile business days to decision"),
    ("within_standard_share", "ratio", "標準処理期間内に処分した割合",
     "Share decided within the standard processing period"),
    ("correction_share", "ratio", "補正を求めた申請の割合",
     "Share of applications with at least one correction request"),
    ("online_share", "ratio", "オンライン申請の割合(窓口以外)",
     "Digital take-up: share filed online (not at the counter)"),
    ("median_hours_to_first_action", "hours", "最初の職員対応までの時間(中央値)",
     "Median hours from filing to the first caseworker action"),
    ("durations_suppressed", "boolean", "処分10件未満のため日数を秘匿",
     "Durations withheld (fewer than 10 decided)"),
)


class CaseOutline(BaseModel):
    """One case as the measures see it, folded from its milestones."""

    application_id: str
    procedure: str
    municipality: str
    channel: str
    disaster_event: str | None
    standard_days: int
    filed_at: datetime
    first_action_at: datetime | None = None
    outcome: str | None = None  # approved / rejected / closed / withdrawn
    decided_at: datetime | None = None
    corrections: list[tuple[datetime, datetime | None]] = Field(default_factory=list)

    @property
    def month(self) -> str:
        return self.filed_at.astimezone(JST).strftime("%Y-%m")


def cases_from(milestones: Iterable[Milestone]) -> list[CaseOutline]:
    """Fold milestones (any order) into cases; a case without its filing is skipped."""
    by_case: dict[str, list[Milestone]] = defaultdict(list)
    for milestone in milestones:
        by_case[milestone.application_id].append(milestone)
    cases = []
    for application_id in sorted(by_case):
        rows = sorted(by_case[application_id], key=lambda m: (m.at, _index(m.key)))
        filed = next((m for m in rows if m.kind == "filed"), None)
        if filed is None:
            continue
        case = CaseOutline(
            application_id=application_id, procedure=filed.procedure,
            municipality=filed.municipality, channel=filed.channel,
            disaster_event=filed.disaster_event, standard_days=filed.standard_days,
            filed_at=filed.at)
        for m in rows:
            if m.kind == "first_action" and case.first_action_at is None:
                case.first_action_at = m.at
            elif m.kind == "correction_requested":
                case.corrections.append((m.at, None))
            elif m.kind == "correction_answered" and case.corrections:
                case.corrections[-1] = (case.corrections[-1][0], m.at)
            elif m.kind == "decided":
                case.outcome, case.decided_at = m.outcome, m.at
        cases.append(case)
    return cases


def _index(key: str) -> int:
    _, _, number = key.partition(":")
    return int(number) if number.isdigit() else -1


# ---- measures --------------------------------------------------------------------------


def _jst_date(moment: datetime) -> date:
    return moment.astimezone(JST).date()


def counted_days(case: CaseOutline, *, business: bool) -> int:
    """Days to decision: the (business) days D with filing date < D <= decision date, Japan
    time, leaving out the days of a correction pause (request date < D <= answer date; an
    unanswered request pauses until the decision)."""
    assert case.decided_at is not None
    start, end = _jst_date(case.filed_at), _jst_date(case.decided_at)
    paused = [(_jst_date(a), _jst_date(b or case.decided_at)) for a, b in case.corrections]
    days = 0
    day = start + timedelta(days=1)
    while day <= end:
        if not any(a < day <= b for a, b in paused) and (not business or is_open_day(day)):
            days += 1
        day += timedelta(days=1)
    return days


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _p90(values: Sequence[float]) -> float:
    """The 90th percentile by linear interpolation between closest ranks (numpy's default;
    ``statistics.quantiles(method='inclusive')``)."""
    if len(values) == 1:
        return float(values[0])
    return pystats.quantiles(values, n=10, method="inclusive")[8]


def measure(cases: Sequence[CaseOutline], *, procedure: str, municipality: str,
            period_kind: PeriodKind, period: str) -> StatisticsRow:
    """Every measure of one cell, unsuppressed."""
    decided = [c for c in cases if c.outcome in DECIDED_OUTCOMES]
    ended = [c for c in cases if c.outcome is not None]
    row = StatisticsRow(procedure=procedure, municipality=municipality,
                        period_kind=period_kind, period=period, filed=len(cases),
                        decided=len(decided))
    row.approved_share = _share(sum(c.outcome == "approved" for c in ended), len(ended))
    row.rejected_share = _share(sum(c.outcome == "rejected" for c in ended), len(ended))
    row.withdrawn_share = _share(sum(c.outcome == "withdrawn" for c in ended), len(ended))
    row.closed_share = _share(sum(c.outcome == "closed" for c in ended), len(ended))
    row.correction_share = _share(sum(bool(c.corrections) for c in cases), len(cases))
    row.online_share = _share(sum(c.channel != "counter" for c in cases), len(cases))
    firsts = [(c.first_action_at - c.filed_at).total_seconds() / 3600
              for c in cases if c.first_action_at is not None]
    row.median_hours_to_first_action = round(pystats.median(firsts), 1) if firsts else None
    if decided:
        calendar = [counted_days(c, business=False) for c in decided]
        business = [counted_days(c, business=True) for c in decided]
        row.median_days = round(pystats.median(calendar), 1)
        row.p90_days = round(_p90(calendar), 1)
        row.median_business_days = round(pystats.median(business), 1)
        row.p90_business_days = round(_p90(business), 1)
        row.within_standard_share = _share(
            sum(d <= c.standard_days for d, c in zip(calendar, decided, strict=True)),
            len(decided))
    return row


CellKey = tuple[str, str, PeriodKind, str]


def cells(cases: Sequence[CaseOutline]) -> list[tuple[CellKey, list[CaseOutline]]]:
    """The cells of the table and their cases, in the published order."""
    groups: dict[CellKey, list[CaseOutline]] = defaultdict(list)
    for case in cases:
        base = (case.procedure, case.municipality)
        groups[(*base, "month", case.month)].append(case)
        groups[(*base, "total", "all")].append(case)
        if case.disaster_event:
            groups[(*base, "disaster_event", case.disaster_event)].append(case)
    order = {"month": 0, "total": 1, "disaster_event": 2}
    keys = sorted(groups, key=lambda k: (k[0], k[1], order[k[2]], k[3]))
    return [(k, groups[k]) for k in keys]


def unsuppressed_rows(cases: Sequence[CaseOutline]) -> list[StatisticsRow]:
    """Every cell with every measure: the internal view, and the input of suppression."""
    return [measure(group, procedure=k[0], municipality=k[1], period_kind=k[2], period=k[3])
            for k, group in cells(cases)]


class StatisticsService:
    """The statistics use cases: public table, open-data files, internal dashboard."""

    def __init__(self, store: MilestoneStore, *, publisher: dict[str, dict[str, str]]
                 | None = None, base_url: str = "") -> None:
        """:param publisher: municipality code → {"ja": name, "en": name}, for the
        dataset description.
        :param base_url: where the portal serves the files (``/statistics/...``)."""
        self._store = store
        self._publisher = publisher or {}
        self._base_url = base_url.rstrip("/")

    def _cases(self, municipality: str | None = None) -> list[CaseOutline]:
        return cases_from(self._store.all(municipality))

    def public_table(self, *, municipality: str | None = None,
                     procedure: str | None = None) -> StatisticsTable:
        """The published cells, suppressed where small (optionally of one municipality /
        procedure: suppression is decided on the whole table first)."""
        from services.disclosure import suppress

        cases = self._cases()
        rows = suppress(unsuppressed_rows(cases), cases)
        rows = [r for r in rows if (municipality is None or r.municipality == municipality)
                and (procedure is None or r.procedure == procedure)]
        return StatisticsTable(as_of=_as_of(cases), rows=rows)

    def internal(self, municipality: str, *, now: datetime | None = None) -> InternalDashboard:
        """The municipality's own numbers, unsuppressed, and its open cases."""
        cases = self._cases(municipality)
        now = now or datetime.now(UTC)
        open_cases = []
        for case in cases:
            if case.outcome is not None:
                continue
            paused = sum(((b or now) - a for a, b in case.corrections), timedelta(0))
            due = case.filed_at + timedelta(days=case.standard_days) + paused
            open_cases.append(OpenCase(
                application_id=case.application_id, procedure=case.procedure,
                filed_at=case.filed_at, due_at=due, overdue=due < now,
                awaiting_correction=bool(case.corrections and case.corrections[-1][1] is None)))
        return InternalDashboard(municipality=municipality, as_of=now,
                                 rows=unsuppressed_rows(cases), open_cases=open_cases)

    # ---- open data -----------------------------------------------------------------------

    def csv(self) -> bytes:
        """The public table as CSV: UTF-8 with a BOM (Excel in Japan opens it as UTF-8,
        not Shift_JIS), CRLF, the columns of ``COLUMNS`` in that order, empty for a
        suppressed or undefined value, ratios with 3 decimals, days/hours with 1."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c[0] for c in COLUMNS])
        for row in self.public_table().rows:
            writer.writerow([_cell(getattr(row, c[0]), c[1]) for c in COLUMNS])
        return ("\ufeff" + out.getvalue()).encode("utf-8")

    def json(self) -> bytes:
        """The public table as JSON (UTF-8, no BOM): {"as_of", "rows": [...]}, nulls for
        suppressed values; keys in ``COLUMNS`` order."""
        table = self.public_table()
        body = {"as_of": table.as_of.isoformat(),
                "rows": [{c[0]: getattr(r, c[0]) for c in COLUMNS} for r in table.rows]}
        return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")

    def dataset_description(self) -> dict[str, Any]:
        """A DCAT-style description of the dataset (JSON-LD vocabulary of DCAT 3)."""
        cases = self._cases()
        months = sorted({c.month for c in cases})
        publishers = sorted({c.municipality for c in cases})
        return {
            "@context": "https://www.w3.org/ns/dcat3.jsonld",
            "@type": "dcat:Dataset",
            "dct:title": {"ja": "行政手続の処理状況(見える化)",
                          "en": "How municipal procedures perform (open statistics)"},
            "dct:description": {
                "ja": "手続・団体・申請月ごとの申請件数、処分までの日数、補正の割合、オンライン"
                      "申請の割合など。10件未満の区分は秘匿しています。",
                "en": "Per procedure, municipality and month of filing: applications, days "
                      "to decision, correction rate, digital take-up. Cells of fewer than 10 "
                      "cases are suppressed."},
            "dct:publisher": [{"@type": "foaf:Organization", "dct:identifier": code,
                               "foaf:name": self._publisher.get(code, {"ja": code, "en": code})}
                              for code in publishers],
            "dct:license": LICENCE,
            "dct:accrualPeriodicity": "http://purl.org/cld/freq/daily",
            "dct:temporal": {"dcat:startDate": months[0] if months else None,
                             "dcat:endDate": months[-1] if months else None},
            "dct:modified": _as_of(cases).isoformat(),
            "dcat:distribution": [
                {"@type": "dcat:Distribution", "dcat:mediaType": "text/csv",
                 "dcat:downloadURL": f"{self._base_url}/statistics/data.csv",
                 "cnt:characterEncoding": "UTF-8 (with BOM)"},
                {"@type": "dcat:Distribution", "dcat:mediaType": "application/json",
                 "dcat:downloadURL": f"{self._base_url}/statistics/data.json"},
            ],
            "columns": [{"name": name, "unit": unit, "title": {"ja": ja, "en": en}}
                        for name, unit, ja, en in COLUMNS],
            "suppression": {"min_cases": MIN_CASES, "min_decided_for_durations": MIN_DECIDED,
                            "secondary": True},
        }


def _as_of(cases: Sequence[CaseOutline]) -> datetime:
    """The newest milestone's time: the same table gives the same file (rebuild)."""
    moments = [m for c in cases for m in (c.filed_at, c.decided_at, c.first_action_at,
                                          *(x for pair in c.corrections for x in pair)) if m]
    return max(moments) if moments else datetime(1970, 1, 1, tzinfo=UTC)


def _cell(value: Any, unit: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if unit == "ratio":
        return f"{value:.3f}"
    if unit in ("days", "hours"):
        return f"{value:.1f}"
    return str(value)
