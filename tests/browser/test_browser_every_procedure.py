"""Every procedure of the catalogue, filed through the pages (issue #17's own test).

For each procedure a resident may file, and for each of its ``examples/valid-*.json``, plus
one package copied into a temporary ``MADOGUCHI_CATALOG_DIR``: a resident signs in, answers
every page of the generated form with the example's values (typed as people type them:
dates as 令和 or with slashes, amounts with commas, phones with +81, 〒 postal codes) and
files it; the case then holds exactly the example's data (read through the API). A
caseworker completes it through the staff pages, stage by stage as the definition says
(an applicant step such as a 実績報告 too, on the resident's step page).

Modes: 1280 px with JavaScript (axe-core, WCAG 2.2 AA, 0 violations on every page) for
every example; 375 px with JavaScript and 1280 px without for each procedure's first.
Every page is photographed at the mode's width into
test-artifacts/pages/every-<procedure>-<example>-<nn>-<page>-<width>[-nojs].png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, expect

from forms.catalog import DEFAULT_ROOT, Catalog
from forms.municipalities import load_municipalities
from forms.packages import Procedure
from forms.pointers import resolve
from forms.schemaform import SchemaForm
from tests.support.browser import AXE_TAGS, fill_page, typed
from tests.support.catalogue_cases import forward_action, open_campaign, step_example
from tests.support.stack import eventually, running_stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
MUNICIPALITY = "131016"
EXTRA_ID = "childcare-status-extra"  # the package added through MADOGUCHI_CATALOG_DIR
RESIDENT = ("demo-1", "山田 太郎")
STAFF = {"reviewer": "千代田区 受付・調査担当", "surveyor": "千代田区 受付・調査担当",
         "approver": "千代田区 決裁者"}


@dataclass(frozen=True)
class Case:
    procedure: str
    example: Path
    extra: bool = False

    @property
    def name(self) -> str:
        return f"{self.procedure}-{self.example.stem.removeprefix('valid-')}"


def _cases() -> list[Case]:
    catalogue = Catalog.load()
    found = []
    for procedure in catalogue.latest():
        if procedure.definition.applicant not in ("resident", "any"):
            continue
        for example in sorted((procedure.directory / "examples").glob("valid-*.json")):
            found.append(Case(procedure.id, example))
    source = catalogue.get("childcare-status").directory
    found.append(Case(EXTRA_ID, sorted((source / "examples").glob("valid-*.json"))[0], True))
    return found


CASES = _cases()
MODES = [(375, True), (1280, True), (1280, False)]


def _extra_catalogue(root: Path) -> Path:
    """A copy of the 保育の現況届 package under another id, in a catalogue dir of its own."""
    source = DEFAULT_ROOT / "childcare-status"
    target = root / EXTRA_ID
    shutil.copytree(source, target)
    definition = json.loads((target / "procedure.json").read_text("utf-8"))
    definition["id"] = EXTRA_ID
    definition["title"] = {"ja": "保育の現況届（追加パッケージ）",
                           "en": "Childcare status declaration (added package)"}
    (target / "procedure.json").write_text(json.dumps(definition, ensure_ascii=False), "utf-8")
    return root


@pytest.fixture
def case_catalog(request, catalog, tmp_path, monkeypatch) -> Catalog:
    case: Case = request.node.callspec.params["case"]
    if not case.extra:
        return catalog
    monkeypatch.setenv("MADOGUCHI_CATALOG_DIR", str(_extra_catalogue(tmp_path / "extra")))
    loaded = Catalog.configured(Path(os.environ["MADOGUCHI_CATALOG_DIR"]))
    assert EXTRA_ID in {p.id for p in loaded.latest()}, loaded.problems
    return loaded


@pytest.fixture
async def stack(dev_env, tmp_path, case_catalog, sealed_documents) -> AsyncIterator[Any]:
    """This module's stack: the catalogue of the case (the packaged one, or with the
    package of MADOGUCHI_CATALOG_DIR)."""
    async with running_stack(dev_env.client, tmp_path, case_catalog, sealed_documents) as built:
        yield built


class Shots:
    """axe-core (JavaScript on) and a screenshot of every page visited, numbered."""

    def __init__(self, prefix: str, width: int, javascript: bool) -> None:
        self.prefix, self.width, self.javascript = prefix, width, javascript
        self.count = 0
        self.names: list[str] = []

    async def __call__(self, page: Page, what: str) -> None:
        self.count += 1
        name = f"{self.prefix}-{self.count:02d}-{re.sub(r'[^a-z0-9_-]+', '-', what.lower())}"
        if self.javascript:
            results = await _axe.run(page, options={
                "runOnly": {"type": "tag", "values": AXE_TAGS},
                "resultTypes": ["violations"]})
            assert results.violations_count == 0, f"{name}: {results.generate_report()}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        suffix = "" if self.javascript else "-nojs"
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{self.width}{suffix}.png"),
                              full_page=True)
        self.names.append(name)


_axe = Axe()


async def _file(page: Page, procedure: Procedure, form: SchemaForm, example: dict,
                shot: Shots) -> str:
    """From the first page of the form to the filed application; the application id."""
    await page.goto(f"/apply/{MUNICIPALITY}/{procedure.id}")
    await expect(page.locator("h1")).to_have_text("誰のための申請ですか")
    await shot(page, "who")
    await page.get_by_label("自分のために申請する").check()
    await page.get_by_role("button", name="次へ進む").click()
    for page_id in form.page_ids():
        await expect(page.locator("input[name=_page]")).to_have_value(page_id)
        assert re.search(rf"/d/drf-[0-9a-f]+/{re.escape(page_id)}$", page.url), page.url
        await fill_page(page, form, page_id, example)
        await shot(page, page_id)
        await page.get_by_role("button", name="次へ進む").click()
        await expect(page.locator("#error-summary")).to_have_count(0)
    await expect(page.locator("h1")).to_have_text("申請内容の確認")
    await shot(page, "check")
    await page.get_by_role("button", name="この内容で申請する").click()
    await expect(page.get_by_role("status")).to_contain_text("申請を受け付けました")
    await shot(page, "filed")
    return (await page.locator(".reference").inner_text()).strip()


# ---- the caseworkers ---------------------------------------------------------------------


async def _complete(kit, stack, procedure: Procedure, app_id: str, javascript: bool,
                    width: int, shot: Shots) -> None:
    """Take every stage's forward action through the pages: the staff's, and the
    resident's own steps with data (実績報告)."""
    resident = stack.resident(*RESIDENT)
    pages: dict[str, Page] = {}

    async def view() -> dict:
        answer = await stack.http.get(f"/api/applications/{app_id}", headers=resident)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def settled() -> dict | None:
        current = await view()
        return None if current["status"] == "issuing" else current  # documents on the way

    for _ in range(12):
        current = await eventually(settled, timeout=60)
        if current["status"] in ("completed", "rejected", "withdrawn", "closed"):
            break
        stage = procedure.definition.stage(current["stage"])
        action = forward_action(stage) if stage else None
        if action is None:
            break
        if stage.actor == "applicant" and not action.input_schema:
            break  # e.g. 罹災証明書 issued: the resident may ask for a re-survey, or not
        if stage.actor == "applicant":
            # The resident's own step with data (実績報告), on its page.
            if "resident" not in pages:
                pages["resident"] = await kit.open(javascript=javascript, width=width)
                await kit.sign_in(pages["resident"], RESIDENT[1])
            mine = pages["resident"]
            await mine.goto(f"/my/applications/{app_id}/act/{action.id}")
            await expect(mine.locator("h1")).to_have_text(action.title.ja)
            step = SchemaForm(procedure.step_schemas[action.input_schema],
                              messages=procedure.messages)
            data = step_example(procedure, action.id)
            for page_id in step.page_ids():
                await fill_page(mine, step, page_id, data)
            await shot(mine, f"step-{action.id}")
            await mine.locator("form .actions button.button").click()
            await expect(mine.get_by_role("status")).to_be_visible()
            staff_view = await stack.http.get(f"/api/applications/{app_id}",
                                              headers=stack.caseworker("cw-check"))
            assert staff_view.json()["step_data"].get(action.id) == data  # residents: hidden
        else:
            person = STAFF[stage.role]
            if person not in pages:
                pages[person] = await kit.open(javascript=javascript, width=width)
                await kit.sign_in(pages[person], person)
            staff = pages[person]
            await staff.goto(f"/staff/cases/{app_id}")
            claim = staff.locator('button[name="action"][value="claim"]')
            if await claim.count() and not (await view()).get("assignee"):
                await claim.click()
                await staff.get_by_role("button", name="行う").click()
                await expect(staff.get_by_role("status")).to_be_visible()
            await shot(staff, f"staff-{stage.id}")
            if action.input_schema:
                section = staff.locator(f"section[aria-labelledby='input-{action.id}']")
                step = SchemaForm(procedure.step_schemas[action.input_schema],
                                  messages=procedure.messages)
                data = step_example(procedure, action.id)
                for index, f in enumerate(step.all_fields(data)):
                    for leaf in f.walk():
                        if not leaf.is_group:
                            value = resolve(data, leaf.pointer, None)
                            await section.locator(f"#{leaf.id}").fill(
                                "" if value is None else typed(leaf, value, index))
                await section.get_by_role("button").last.click()
            else:
                await staff.locator(f'button[name="action"][value="{action.id}"]').click()
            await expect(staff.locator("h1")).to_contain_text(action.title.ja)
            await shot(staff, f"staff-confirm-{action.id}")
            await staff.get_by_role("button", name="行う").click()
            await expect(staff.get_by_role("status")).to_be_visible()

        async def moved(before=current):
            after = await view()
            return after if (after["stage"], after["status"]) != (
                before["stage"], before["status"]) else None

        await eventually(moved)
    final = await eventually(settled, timeout=60)
    assert final["status"] == "completed" or (
        final["status"] == "awaiting_applicant" and final["documents"]), final


# ---- the test ----------------------------------------------------------------------------


def _runs() -> list[Any]:
    """Every example of every procedure at 1280 px with JavaScript (axe-core on every page);
    the first example of each procedure also at 375 px and without JavaScript. The other
    modes exercise the pages, not the data: running them for every example of every package
    would grow the suite by three browser runs per example added to the catalogue."""
    runs, seen = [], set()
    for case in CASES:
        modes = MODES if case.procedure not in seen else [(1280, True)]
        seen.add(case.procedure)
        runs += [pytest.param(case, width, javascript,
                              id=f"{case.name}-{width}{'' if javascript else '-nojs'}")
                 for width, javascript in modes]
    return runs


@pytest.mark.parametrize(("case", "width", "javascript"), _runs())
async def test_a_resident_files_every_procedure_and_a_caseworker_completes_it(
    kit, stack, case: Case, width: int, javascript: bool
):
    catalogue = stack.http._transport.app.state.portal.catalog
    procedure = catalogue.get(case.procedure, None, MUNICIPALITY)
    example = json.loads(case.example.read_text("utf-8"))
    form = SchemaForm(procedure.form_schema, messages=procedure.messages,
                      municipality=load_municipalities()[MUNICIPALITY])
    shot = Shots(f"every-{case.name}", width, javascript)
    await open_campaign(stack, procedure, example, MUNICIPALITY)  # e.g. the 現況届

    resident = await kit.open(javascript=javascript, width=width)
    await kit.sign_in(resident, RESIDENT[1])
    app_id = await _file(resident, procedure, form, example, shot)

    filed = await stack.http.get(f"/api/applications/{app_id}",
                                 headers=stack.resident(*RESIDENT))
    assert filed.json()["data"] == example

    await _complete(kit, stack, procedure, app_id, javascript, width, shot)
