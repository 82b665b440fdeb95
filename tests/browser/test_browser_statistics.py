"""The public statistics page in a real Chromium (#20): Japanese and English, every chart
and table against the CSV of the same data, axe-core, JavaScript off, 375 px, 200 % zoom.

Two sources of data. ``test_the_statistics_page_says_what_the_csv_says`` serves a table
the test chose (every unit, suppressed cells, a disaster event; tests/support/
statistics_table.py), so every kind of cell is on the page. ``test_cases_filed_through_
the_system_reach_the_page`` is the system's own path: cases filed through the API (12 in
Chiyoda, 3 in Yokohama, two of Chiyoda's withdrawn) recorded by the workers into the
statistics read model; the test knows what it filed, so it computes the measure it can
tell independently (cases filed per municipality this month, Yokohama's 3 suppressed) and
holds the page against it, and every other cell against the CSV.

``MADOGUCHI_DOC_SCREENSHOTS=1`` also writes docs/images/statistics-*.png (on purpose, for
docs/statistics-pages.md; a plain run writes its screenshots to test-artifacts/ only).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from portal.web.i18n import JST
from tests.support.filing import APPS, act, example, filing
from tests.support.stack import eventually
from tests.support.statistics_page import compare, csv_cells, html_cells, page_number
from tests.support.statistics_table import COLUMNS, TableReader, sample_rows

PROCEDURE, TOKYO, YOKOHAMA = "disaster-certificate", "131016", "141003"
FILED = {TOKYO: 12, YOKOHAMA: 3}
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
WITHDRAWN = {TOKYO: 2}


async def _file_cases(stack, catalog) -> None:
    for municipality, count in FILED.items():
        for n in range(count):
            body = {**filing(example(catalog)), "municipality": municipality}
            headers = stack.resident(f"stats-{municipality}-{n}")
            created = await stack.http.post(APPS, json=body, headers=headers)
            assert created.status_code == 201, created.text
            app_id = created.json()["id"]
            stack.started.append(app_id)
            if n < WITHDRAWN.get(municipality, 0):
                assert (await act(stack.http, app_id, headers, "withdraw")).status_code == 200


async def _published(http: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """The CSV once every filed case is in it, and the units of its columns."""
    dataset = (await http.get("/statistics/dataset.json")).json()
    units = _units(dataset)

    async def complete():
        text = (await http.get("/statistics/data.csv")).text
        cells = csv_cells(text, units)
        month = datetime.now(UTC).astimezone(JST).strftime("%Y-%m")
        filed = cells.get((PROCEDURE, TOKYO, "", month, "filed"))
        return text if filed and float(filed) == FILED[TOKYO] else None

    return await eventually(complete, timeout=30), units


def _units(dataset: dict) -> dict[str, str]:
    """Measure column -> unit ("count", "share", "days", "hours") from the DCAT
    description (columns that name a cell, or say why it is empty, are not measures)."""
    mapping = {"cases": "count", "count": "count", "ratio": "share", "share": "share",
               "days": "days", "hours": "hours"}
    return {c["name"]: mapping[c["unit"]] for c in dataset.get("columns", [])
            if c.get("unit") in mapping}


async def _for_docs(page: Page, name: str, *, clip_to: str | None = None) -> None:
    """A screenshot for the docs, only when asked for (MADOGUCHI_DOC_SCREENSHOTS=1)."""
    if not os.environ.get("MADOGUCHI_DOC_SCREENSHOTS"):
        return
    target = IMAGES / f"statistics-{name}.png"
    if clip_to:
        await page.locator(clip_to).first.screenshot(path=str(target))
    else:
        await page.screenshot(path=str(target), full_page=False)


async def _page_cells(page: Page) -> dict:
    return html_cells(await page.content())


async def _charts_match_their_tables(page: Page) -> int:
    """Every chart: role img named by its title, described, and its bar labels are its
    table's cells in order. Returns how many charts there were."""
    charts = page.locator("svg.chart")
    count = await charts.count()
    for i in range(count):
        chart = charts.nth(i)
        assert await chart.get_attribute("role") == "img"
        ident = (await chart.get_attribute("aria-labelledby")).removesuffix("-title")
        title = (await page.locator(f"[id='{ident}-title']").text_content() or "").strip()
        assert title, ident
        assert (await page.locator(f"[id='{ident}-desc']").text_content() or "").strip()
        await expect(page.get_by_role("img", name=title, exact=True)).to_have_count(1)
        table = page.locator(f"[id='{ident}-table']")
        assert await table.locator("caption").count() == 1
        rows = await table.locator("tbody tr").all()
        columns = len(await table.locator("thead th").all()) - 1
        cells = [[(await r.locator("td").nth(c).inner_text()).replace("※", "").strip()
                  for r in rows] for c in range(columns)]
        labels = [t.strip() for t in await chart.locator("text").all_text_contents()]
        for series in cells:
            for cell in series:
                shown = "—" if cell.startswith("—") else cell
                assert shown in labels, (ident, shown, labels)
    return count


async def _no_horizontal_scroll(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"


async def test_cases_filed_through_the_system_reach_the_page(kit, portal, catalog):
    """The real path: the workers record the filed cases, the service publishes them, the
    page shows what the test filed (Yokohama's 3 suppressed) and what the CSV says."""
    stack = portal.stack
    await _file_cases(stack, catalog)
    async with httpx.AsyncClient(base_url=portal.url) as http:
        csv_text, units = await _published(http)
    month = datetime.now(UTC).astimezone(JST).strftime("%Y-%m")
    published = csv_cells(csv_text, units)
    page = await kit.open()
    await page.goto("/statistics")
    cells = await _page_cells(page)
    assert not compare(cells, published, units), compare(cells, published, units)
    assert page_number(cells[(PROCEDURE, TOKYO, "", month, "filed")]) == FILED[TOKYO]
    assert page_number(cells[(PROCEDURE, YOKOHAMA, "", month, "filed")]) is None
    await _charts_match_their_tables(page)
    await kit.audit(page, "statistics-e2e")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_the_statistics_page_says_what_the_csv_says(kit, portal, javascript):
    """A known table (every unit, suppressed cells, a disaster event): the page in ja and
    en, its charts and tables against the CSV, the filter form, 375 px and 200 % zoom."""
    portal.stack.http._transport.app.state.portal.app.statistics = TableReader(sample_rows())
    units = {c.name: c.unit for c in COLUMNS}
    async with httpx.AsyncClient(base_url=portal.url) as http:
        published = csv_cells((await http.get("/statistics/data.csv")).text, units)

    page = await kit.open(javascript=javascript)
    await page.goto("/statistics")
    await expect(page.locator("h1")).to_have_text("手続きの統計")
    cells = await _page_cells(page)
    assert not compare(cells, published, units), compare(cells, published, units)
    assert cells[(PROCEDURE, YOKOHAMA, "", "2026-08", "filed")].startswith("—")
    assert await page.locator("#stats-suppressed").count() == 1
    assert "10件より少ない" in await page.locator("#stats-suppressed").inner_text()
    assert await _charts_match_their_tables(page) >= 2
    if javascript:
        await kit.audit(page, "statistics-ja")
        await _for_docs(page, "page")
        await _for_docs(page, "section", clip_to="section.stats-group")

    # English: the same numbers, English words.
    await page.get_by_role("link", name="Switch to English").click()
    await expect(page.locator("h1")).to_have_text("Statistics of the procedures")
    assert await _page_cells(page) == cells
    assert "fewer than 10 cases" in await page.locator("#stats-suppressed").inner_text()
    await _charts_match_their_tables(page)
    if javascript:
        await kit.audit(page, "statistics-en")
        await _for_docs(page, "section-en", clip_to="section.stats-group")

    # The filter is a plain GET form: Yokohama only.
    await page.select_option("#f-municipality", YOKOHAMA)
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url(re.compile(r"municipality=141003"))
    filtered = await _page_cells(page)
    assert filtered and {k[1] for k in filtered} == {YOKOHAMA}
    only = {k: v for k, v in published.items() if k[1] == YOKOHAMA}
    assert not compare(filtered, only, units)

    # 375 px and 200 % zoom (1280 px at 200 %: 640 CSS px): nothing scrolls sideways.
    await page.goto("/statistics?lang=ja")
    for width, height in ((375, 800), (640, 450)):
        await page.set_viewport_size({"width": width, "height": height})
        await _no_horizontal_scroll(page)
        await expect(page.locator("svg.chart").first).to_be_visible()
        if javascript and width == 375:
            await _for_docs(page, "narrow-375", clip_to="section.stats-group")
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_the_downloads_open_from_the_page(kit, portal):
    """The links download the files a reader's program gets (same bytes as over HTTP)."""
    portal.stack.http._transport.app.state.portal.app.statistics = TableReader(sample_rows())
    page = await kit.open()
    await page.goto("/statistics")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="CSV形式（表計算ソフト向け）").click()
    download = await info.value
    assert download.suggested_filename.endswith(".csv")
    body = (await download.path()).read_bytes()
    async with httpx.AsyncClient(base_url=portal.url) as http:
        assert body == (await http.get("/statistics/data.csv")).content
        dataset = await http.get("/statistics/dataset.json")
    assert json.loads(dataset.content)  # a JSON document
