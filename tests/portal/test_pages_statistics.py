"""The statistics pages over the ASGI app (#20): the dashboard's work in hand kept to the
caseworker's municipality, and the public page's downloads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from portal.web.statistics_source import PublishedCache
from portal.web.workload import UNASSIGNED, workload
from services.queues import CaseSummary
from tests.support.filing import APPS, act, example, filing
from tests.support.pages import signed_in
from tests.support.stack import eventually
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
    caseworker): each municipality's dashboard shows its own backlog and load only, and
    never a reference or an assignee of the other."""
    tokyo = [await _file(stack, catalog, TOKYO, f"dash-t{i}") for i in range(2)]
    yokohama = await _file(stack, catalog, YOKOHAMA, "dash-y")
    claimed = await act(stack.http, tokyo[0], stack.caseworker("cw-131016-1"), "claim")
    assert claimed.status_code == 200, claimed.text
    other = stack.caseworker("cw-141003-1", municipality=YOKOHAMA)
    assert (await act(stack.http, yokohama, other, "claim")).status_code == 200
    async with signed_in(stack, "cw-131016-1") as http:

        async def loaded():
            page = (await http.get("/staff/dashboard")).text
            rows = _table(page, "table-load")
            return page if sum(int(r[1]) for r in rows) == 2 and len(rows) == 2 else None

        page = await eventually(loaded)
        assert sorted(_table(page, "table-load")) == [["cw-131016-1", "1", "0"],
                                                      ["未割当", "1", "0"]]
        assert sum(int(r[1]) for r in _table(page, "table-backlog")) == 2
        assert "処理中 2件、うち期限超過 0件。" in page
        assert "cw-141003-1" not in page
        assert yokohama not in page and spoken_reference(yokohama) not in page
        english = (await http.get("/staff/dashboard?lang=en")).text
        assert "2 open cases, 0 of them overdue." in english
    async with signed_in(stack, "cw-141003-1") as http:
        page = (await http.get("/staff/dashboard")).text
        assert _table(page, "table-load") == [["cw-141003-1", "1", "0"]]
        assert "処理中 1件、うち期限超過 0件。" in page
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
