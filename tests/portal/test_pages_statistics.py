"""The statistics pages over the ASGI app (#20): the public page and its downloads (headers,
contents, caching), the page's tables against the CSV, and the dashboard kept to the
caseworker's municipality (its work in hand and its unsuppressed measures)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from portal.web.statistics_source import PublishedCache
from portal.web.workload import UNASSIGNED, workload
from records.db import create_schema, make_engine
from records.milestones import Milestone
from records.statistics import MilestoneStore
from services.queues import CaseSummary
from services.statistics import COLUMNS as STATS_COLUMNS
from services.statistics import StatisticsService
from tests.support.filing import APPS, act, example, filing
from tests.support.pages import signed_in
from tests.support.stack import eventually
from tests.support.statistics_page import compare, csv_cells, html_cells
from tests.support.statistics_table import COLUMNS, TableReader, sample_rows
from workflows.references import spoken_reference

TOKYO, YOKOHAMA = "131016", "141003"


async def _file(stack, catalog, municipality: str, resident: str) -> str:
    body = {**filing(example(catalog)), "municipality": municipality}
    created = await stack.http.post(APPS, json=body, headers=stack.resident(resident))
    assert created.status_code == 201, created.text
    stack.started.append(created.json()["id"])
    return created.json()["id"]


def _table(html: str, table_id: str) -> list[list[str]]:
    """The body rows of the table ``table_id``, as the cells' text."""
    found = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert found, f"no table {table_id}"
    return [[re.sub(r"<[^>]+>", "", cell).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)]


async def test_the_dashboard_counts_only_the_caseworkers_own_municipality(stack, catalog):
    """Two cases in Chiyoda (one claimed), one in Yokohama (claimed by a Yokohama
    caseworker): each municipality's dashboard counts its own backlog and load only, and
    never shows a reference or an assignee of the other. The dev server is shared by the
    session's tests, so the counts are compared with the page's before these filings."""

    async def load(http) -> tuple[dict[str, int], int, str]:
        page = (await http.get("/staff/dashboard")).text
        if 'id="table-load"' not in page:  # no open case at all yet
            return {}, 0, page
        rows = {r[0]: int(r[1]) for r in _table(page, "table-load")}
        return rows, sum(int(r[1]) for r in _table(page, "table-backlog")), page

    async with signed_in(stack, "cw-131016-1") as http:
        tokyo_before, tokyo_open, _ = await load(http)
    async with signed_in(stack, "cw-141003-1") as http:
        yokohama_before, _, _ = await load(http)
    tokyo = [await _file(stack, catalog, TOKYO, f"dash-t{i}") for i in range(2)]
    yokohama = await _file(stack, catalog, YOKOHAMA, "dash-y")
    claimed = await act(stack.http, tokyo[0], stack.caseworker("cw-131016-1"), "claim")
    assert claimed.status_code == 200, claimed.text
    other = stack.caseworker("cw-141003-1", municipality=YOKOHAMA)
    assert (await act(stack.http, yokohama, other, "claim")).status_code == 200
    wanted = {**tokyo_before, "cw-131016-1": tokyo_before.get("cw-131016-1", 0) + 1,
              "未割当": tokyo_before.get("未割当", 0) + 1}
    async with signed_in(stack, "cw-131016-1") as http:

        async def loaded():
            rows, backlog, page = await load(http)
            return page if rows == wanted and backlog == tokyo_open + 2 else None

        page = await eventually(loaded)
        assert f"処理中 {tokyo_open + 2}件、" in page
        assert "cw-141003-1" not in page
        assert yokohama not in page and spoken_reference(yokohama) not in page
        english = (await http.get("/staff/dashboard?lang=en")).text
        assert f"{tokyo_open + 2} open cases, " in english
    async with signed_in(stack, "cw-141003-1") as http:
        rows, _, page = await load(http)
        assert rows["cw-141003-1"] == yokohama_before.get("cw-141003-1", 0) + 1
        for case in tokyo:
            assert case not in page and spoken_reference(case) not in page
        assert "cw-131016-1" not in page


def test_overdue_is_past_the_due_date_and_closed_cases_are_not_work():
    now = datetime(2026, 10, 1, 12, tzinfo=UTC)

    def row(n: int, *, due: int | None, status: str = "in_progress", who: str | None = None,
            stage: str = "review") -> CaseSummary:
        return CaseSummary(id=f"c{n}", procedure="p", municipality=TOKYO, stage=stage,
                           status=status, assignee=who,
                           due_at=None if due is None else now + timedelta(days=due),
                           started_at=now - timedelta(days=20))

    rows = [row(1, due=-3, who="a"), row(2, due=-1), row(3, due=2, who="a"),
            row(4, due=None, who="b", stage="survey"), row(5, due=-9, status="completed"),
            row(6, due=-5, status="withdrawn", who="b")]
    work = workload(rows, now=now)
    assert work.open == 4
    assert [r.id for r in work.overdue] == ["c1", "c2"]  # oldest due date first
    assert work.per_stage == {"review": (3, 2), "survey": (1, 0)}
    assert [(x.assignee, x.open, x.overdue) for x in work.loads] == [
        ("a", 2, 1), (UNASSIGNED, 1, 1), ("b", 1, 0)]


def test_the_published_cache_keeps_one_version_and_a_bounded_number_of_answers():
    cache = PublishedCache(size=2)
    built: list[str] = []

    def build(name: str):
        def make():
            built.append(name)
            return name.upper()
        return make

    assert cache.get("v1", ("csv", None), build("a")) == "A"
    assert cache.get("v1", ("csv", None), build("a")) == "A"  # kept
    assert built == ["a"]
    cache.get("v1", ("json", None), build("b"))
    cache.get("v1", ("csv", None), build("a"))  # used: "b" is now the oldest
    cache.get("v1", ("page", None), build("c"))  # over the bound: "b" dropped
    cache.get("v1", ("json", None), build("b"))
    assert built == ["a", "b", "c", "b"]
    cache.get("v2", ("csv", None), build("a"))  # a new version: everything built again
    assert built[-1] == "a" and len(built) == 5
    reads = iter(["v1", "v2"])
    kept = PublishedCache(version_ttl=60)
    assert kept.version(lambda: next(reads)) == "v1"
    assert kept.version(lambda: next(reads)) == "v1"  # not read again within its ttl


UNITS = {c.name: c.unit for c in COLUMNS}


@pytest.fixture
def published(stack) -> TableReader:
    """The sample table as the installation's statistics (the pages read only this)."""
    small = {"filed": 4, "decided": 1, "median_days": 3.0, "p90_days": 3.0,
             "within_standard_share": 1.0, "correction_share": 0.0, "online_share": 0.25}
    reader = TableReader(sample_rows(), internal_rows=[
        {**r, **small} for r in sample_rows() if r["filed"] is None])
    app = stack.http._transport.app
    app.state.portal.app.statistics = reader
    app.state.statistics_cache = PublishedCache(version_ttl=0)  # a new version shows at once
    return reader


async def test_the_downloads_answer_with_their_types_names_and_caching(stack, published):
    http = stack.http
    expected = {
        "/statistics/data.csv": ("text/csv; charset=utf-8", "madoguchi-statistics.csv"),
        "/statistics/data.json": ("application/json", "madoguchi-statistics.json"),
        "/statistics/dataset.json": ("application/ld+json", "madoguchi-dataset.json"),
    }
    tags = {}
    for path, (media, name) in expected.items():
        reply = await http.get(path)
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith(media), reply.headers["content-type"]
        assert reply.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert reply.headers["cache-control"] == "public, max-age=300, must-revalidate"
        assert reply.headers["access-control-allow-origin"] == "*"
        tags[path] = reply.headers["etag"]
        again = await http.get(path, headers={"If-None-Match": tags[path]})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == tags[path]
    assert len(set(tags.values())) == 3
    rows = list(csv.DictReader(io.StringIO((await http.get("/statistics/data.csv")).text)))
    assert len(rows) == len(sample_rows())
    suppressed = [r for r in rows if r["municipality"] == YOKOHAMA and r["month"] == "2026-08"]
    assert suppressed[0]["filed"] == "" and suppressed[0]["median_days"] == ""
    body = json.loads((await http.get("/statistics/data.json")).content)
    assert len(body["rows"]) == len(rows)
    # The files are the whole dataset, whatever the page's filter.
    only = await http.get("/statistics/data.csv", params={"municipality": YOKOHAMA})
    assert only.content == (await http.get("/statistics/data.csv")).content
    # A new version of the read model: a new ETag, the old one no longer answers 304.
    published.version_id = "v2"
    moved = await http.get("/statistics/data.csv",
                           headers={"If-None-Match": tags["/statistics/data.csv"]})
    assert moved.status_code == 200 and moved.headers["etag"] != tags["/statistics/data.csv"]


async def test_the_page_says_what_the_csv_says_and_is_computed_once_per_version(
        stack, published):
    http = stack.http
    page = await http.get("/statistics")
    assert page.status_code == 200
    published_cells = csv_cells((await http.get("/statistics/data.csv")).text, UNITS)
    cells = html_cells(page.text)
    assert not compare(cells, published_cells, UNITS), compare(cells, published_cells, UNITS)
    assert cells[("disaster-certificate", YOKOHAMA, "", "2026-08", "filed")].startswith("—")
    assert cells[("disaster-certificate", TOKYO, "", "2026-08", "filed")] == "42"
    assert cells[("disaster-certificate", TOKYO, "", "2026-08", "online_share")] == "60.5%"
    # The disaster event's own section, named as the municipality declared it.
    assert "罹災証明書の交付申請（千代田区・令和8年台風第15号）" in page.text
    assert page.text.count('role="img"') == 4 * 3  # three charts per section
    english = await http.get("/statistics?lang=en")
    assert html_cells(english.text) == cells
    assert "(Chiyoda City, Typhoon No. 15 (2026))" in english.text
    # Cached per version: the page and CSV asked the service once each, whatever the
    # language; an anonymous reader's ETag answers 304.
    assert published.calls.count("published") == 1 and published.calls.count("csv") == 1
    assert page.headers["cache-control"] == "no-cache"
    again = await http.get("/statistics?lang=ja",  # the language is in the ETag
                           headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304
    other = await http.get("/statistics?lang=en", headers={"If-None-Match": page.headers["etag"]})
    assert other.status_code == 200
    published.version_id = "v2"
    assert (await http.get("/statistics")).status_code == 200
    assert published.calls.count("published") == 2


async def test_the_filters_and_a_month_that_cannot_be_read(stack, published):
    http = stack.http
    page = await http.get("/statistics", params={"procedure": "child-allowance",
                                                  "from": "2026-09", "to": "2026-10"})
    cells = html_cells(page.text)
    assert {(k[0], k[3]) for k in cells} == {("child-allowance", "2026-09"),
                                             ("child-allowance", "2026-10")}
    assert 'href="/statistics/data.csv"' in page.text
    bad = await http.get("/statistics", params={"from": "September"})
    assert bad.status_code == 200 and "2026-04 のように入力してください" in bad.text
    assert "etag" not in bad.headers
    none = await http.get("/statistics", params={"from": "2030-01"})
    assert 'id="stats-none"' in none.text
    # What is not a procedure id or a municipality code filters nothing (and is not echoed).
    junk = await http.get("/statistics", params={"procedure": "<script>x", "municipality": "1"})
    assert html_cells(junk.text) == html_cells((await http.get("/statistics")).text)
    assert "<script>x" not in junk.text


async def test_a_signed_in_readers_page_is_never_cached(stack, published):
    async with signed_in(stack, "demo-1") as http:
        page = await http.get("/statistics")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store" and "etag" not in page.headers


async def test_the_dashboard_shows_the_own_municipalitys_measures_unsuppressed(
        stack, published):
    """The internal table has small cells of both municipalities: each caseworker sees
    their own, with the small numbers, and none of the other's."""
    async with signed_in(stack, "cw-141003-1") as http:
        page = (await http.get("/staff/dashboard")).text
        cells = html_cells(page)
        assert cells and {k[1] for k in cells} == {YOKOHAMA}
        assert cells[("disaster-certificate", YOKOHAMA, "", "2026-08", "filed")] == "4"
        assert "—" not in "".join(cells.values())
    async with signed_in(stack, "cw-131016-1") as http:
        cells = html_cells((await http.get("/staff/dashboard")).text)
        assert cells and {k[1] for k in cells} == {TOKYO}


async def test_the_page_on_the_statistics_service_says_what_its_csv_says(stack, tmp_path):
    """The real service over the milestones read model: 12 Chiyoda cases and 3 Yokohama
    ones filed in August 2026 (JST), Chiyoda's all decided. The test knows what it wrote:
    Chiyoda's month shows 12 filed, Yokohama's is suppressed; every cell as the CSV says."""
    engine = make_engine(f"sqlite:///{tmp_path / 'stats.db'}")
    create_schema(engine)
    store = MilestoneStore(engine)
    filed_at = datetime(2026, 8, 3, 1, tzinfo=UTC)
    rows = []
    for n, municipality in enumerate([TOKYO] * 12 + [YOKOHAMA] * 3):
        common = {"application_id": f"app-page-{n:03d}", "procedure": "disaster-certificate",
                  "municipality": municipality, "channel": "online", "standard_days": 30}
        rows.append(Milestone(key="filed", kind="filed", at=filed_at, **common))
        if municipality == TOKYO:
            rows.append(Milestone(key="decided:1", kind="decided", outcome="approved",
                                  at=filed_at + timedelta(days=n + 1), **common))
    store.append(rows)
    app = stack.http._transport.app
    app.state.portal.app.statistics = StatisticsService(store)
    app.state.statistics_cache = PublishedCache(version_ttl=0)
    http = stack.http
    units = {name: {"cases": "count", "ratio": "share"}.get(unit, unit)
             for name, unit, _, _ in STATS_COLUMNS if unit in ("cases", "ratio", "days", "hours")}
    published_cells = csv_cells((await http.get("/statistics/data.csv")).text, units)
    page = await http.get("/statistics")
    cells = html_cells(page.text)
    assert not compare(cells, published_cells, units), compare(cells, published_cells, units)
    assert cells[("disaster-certificate", TOKYO, "", "2026-08", "filed")] == "12"
    assert cells[("disaster-certificate", TOKYO, "", "2026-08", "median_days")] == "6.5"
    assert cells[("disaster-certificate", YOKOHAMA, "", "2026-08", "filed")].startswith("—")
    dataset = (await http.get("/statistics/dataset.json")).json()
    assert dataset["dct:license"].endswith("by/4.0/")
    # Each distribution the catalogue names is served, as the media type it names.
    for distribution in dataset["dcat:distribution"]:
        path = urlsplit(distribution["dcat:downloadURL"]).path
        served = await http.get(path)
        assert served.status_code == 200, path
        assert served.headers["content-type"].startswith(distribution["dcat:mediaType"]), path
    # A new milestone is a new version: the page follows.
    store.append([Milestone(key="filed", kind="filed", at=filed_at, application_id="app-x",
                            procedure="disaster-certificate", municipality=TOKYO,
                            channel="counter", standard_days=30)])
    again = html_cells((await http.get("/statistics")).text)
    assert again[("disaster-certificate", TOKYO, "", "2026-08", "filed")] == "13"
    # Yokohama's caseworker: its own 3 cases, unsuppressed; nothing of Chiyoda's.
    async with signed_in(stack, "cw-141003-1") as staff:
        own = html_cells((await staff.get("/staff/dashboard")).text)
    assert own[("disaster-certificate", YOKOHAMA, "", "2026-08", "filed")] == "3"
    assert {k[1] for k in own} == {YOKOHAMA}
