"""``madoguchi catalog``: check a catalogue directory offline, list what is loaded."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping
from pathlib import Path

import click
import jinja2

from documents.render import DocumentRenderer
from forms.catalog import DEFAULT_ROOT, Catalog
from forms.lifeevent_packages import LIFE_EVENTS_DIR
from forms.municipalities import Municipality, load_municipalities
from forms.packagerun import run_package
from forms.packages import Procedure, check_package, load_package
from forms.problems import CatalogProblem


@click.group()
def catalog() -> None:
    """The procedure catalogue / 手続きカタログ."""


def _is_package(directory: Path) -> bool:
    return (directory / "procedure.json").is_file()


def _template_problems(renderer: DocumentRenderer, procedure: Procedure) -> list[CatalogProblem]:
    """Compile every document template with the renderer's own environment (filters
    included), so a syntax error or an unknown filter shows now, not at issuing."""
    problems = []
    label = procedure.directory.name
    for index, document in enumerate(procedure.definition.documents):
        try:
            renderer.environment(procedure.directory).get_template(document.template)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(CatalogProblem(
                file=f"{label}/{document.template}", pointer="",
                message=f"template does not compile: line {exc.lineno}: {exc.message}"))
        except jinja2.TemplateError as exc:
            problems.append(CatalogProblem(
                file=f"{label}/procedure.json", pointer=f"/documents/{index}/template",
                message=f"template does not compile: {exc}"))
    return problems


def _life_event_root(directory: Path) -> Path | None:
    """The catalogue root of a life-event folder (``<root>/life-events/<id>/``)."""
    if (directory / "life-event.json").is_file() and directory.parent.name == LIFE_EVENTS_DIR:
        return directory.parent.parent
    return None


def _life_event_lines(loaded: Catalog, directory: Path) -> list[str]:
    """What each life event under ``directory`` offers, example by example."""
    lines = []
    for event in loaded.life_events():
        if directory.resolve() not in (event.directory, *event.directory.parents):
            continue
        offered = ", ".join(p.procedure for p in event.definition.procedures)
        lines.append(f"life event {event.id}@{event.version}: {offered}")
        for path in sorted((event.directory / "examples").glob("*.json")):
            expected = json.loads(path.read_text("utf-8")).get("offered", [])
            lines.append(f"  examples/{path.name}: offers {', '.join(expected) or 'nothing'}")
    return lines


def _municipality(found: Mapping[str, Municipality], code: str | None) -> Municipality:
    if code is not None:
        if code not in found:
            raise click.BadParameter(f"no municipality {code}", param_hint="--municipality")
        return found[code]
    return found[sorted(found)[0]]


def _run(procedures: list[Procedure], municipalities: Mapping[str, Municipality],
         code: str | None, today: dt.date) -> list[CatalogProblem]:
    """Compile templates and run examples; prints what each example computed."""
    renderer = DocumentRenderer()
    problems: list[CatalogProblem] = []
    for procedure in procedures:
        problems += _template_problems(renderer, procedure)
        municipality = _municipality(municipalities, code)
        run = run_package(procedure, municipality, today)
        problems += run.problems
        name = f"{procedure.id}@{procedure.version}"
        for example in run.examples:
            if example.expected_valid:
                state = "refused" if example.refused else "valid"
            else:
                state = "refused as expected" if example.refused else "accepted"
            reasons = "".join(f" {e.path or '/'}: {e.code}" for e in example.errors)
            click.echo(f"{name} {example.file}: {state}{reasons}")
            for key, value in example.computed.items():
                shown = json.dumps(value, ensure_ascii=False, sort_keys=True)
                click.echo(f"  computed.{key} = {shown}")
            for note in example.not_run:
                click.echo(f"  not run: {note}")
    return problems


@catalog.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--municipality", "code", default=None,
              help="File the examples with this municipality (default: the first code)")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The filing date eligibility rules and computations see "
              "(default: today in Japan)")
def check(directory: Path, code: str | None, today: dt.datetime | None) -> None:
    """Validate a procedure package, a life event (``life-events/<id>/``), or a catalogue
    directory (packages, life events, municipalities, overlays) together with the packaged
    catalogue, without starting anything; then run
    it: compile every template, and run each examples/valid-*.json (invalid-*.json:
    expecting refusal) through validation, eligibility and every computation, printing
    the computed values.

    Prints every problem (file#pointer: message) and exits 1 if there is any.
    """
    day = today.date() if today is not None else dt.datetime.now(
        dt.timezone(dt.timedelta(hours=9))).date()
    life_root = _life_event_root(directory)
    if life_root is not None:
        roots = [DEFAULT_ROOT] if life_root.resolve() == DEFAULT_ROOT.resolve() else [
            DEFAULT_ROOT, life_root]
        loaded = Catalog.load(*roots)
        prefix = f"{LIFE_EVENTS_DIR}/{directory.name}/"
        problems = [p for p in loaded.problems if p.file.startswith(prefix)]
        names = [f"life event {directory.name}"]
        for line in _life_event_lines(loaded, directory):
            click.echo(line)
    elif _is_package(directory):
        problems = check_package(directory)
        names = [directory.name]
        if not problems:
            problems = _run([load_package(directory)], load_municipalities(), code, day)
    else:
        roots = (
            [DEFAULT_ROOT]
            if directory.resolve() == DEFAULT_ROOT.resolve()
            else [DEFAULT_ROOT, directory]
        )
        loaded = Catalog.load(*roots)
        problems = loaded.problems
        names = [f"{p.id}@{p.version}" for p in loaded.procedures()]
        chosen = [p for p in loaded.procedures()
                  if p.directory.resolve().parent == directory.resolve()]
        problems = problems + _run(chosen, loaded.municipalities, code, day)
        for line in _life_event_lines(loaded, directory):
            click.echo(line)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s) / 問題が {len(problems)} 件あります", err=True)
        sys.exit(1)
    click.echo(f"ok: {', '.join(names)}")


@catalog.command(name="list")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MADOGUCHI_CATALOG_DIR",
    help="Catalogue directory added to the packaged one",
)
@click.option("--municipality", default=None, help="Show the effective procedures of one code")
def list_(directory: Path | None, municipality: str | None) -> None:
    """List the procedures (every version) the catalogue loads."""
    loaded = Catalog.configured(directory)
    for procedure in loaded.procedures(municipality):
        definition = procedure.definition
        local = f"  [{procedure.municipality}]" if procedure.municipality else ""
        click.echo(
            f"{definition.id}@{definition.version}  {definition.title.ja} / "
            f"{definition.title.en}  ({definition.processing_period.days} days){local}"
        )
    if loaded.problems:
        click.echo(
            f"{len(loaded.problems)} problem(s): run `madoguchi catalog check DIR`", err=True
        )
