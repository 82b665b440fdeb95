"""``madoguchi catalog``: check a catalogue directory offline, list what is loaded."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from forms.catalog import DEFAULT_ROOT, Catalog
from forms.packages import check_package


@click.group()
def catalog() -> None:
    """The procedure catalogue / 手続きカタログ."""


def _is_package(directory: Path) -> bool:
    return (directory / "procedure.json").is_file()


@catalog.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def check(directory: Path) -> None:
    """Validate a procedure package, or a catalogue directory (packages, municipalities,
    overlays) together with the packaged catalogue, without starting anything.

    Prints every problem (file#pointer: message) and exits 1 if there is any.
    """
    if _is_package(directory):
        problems = check_package(directory)
        names = [directory.name]
    else:
        roots = (
            [DEFAULT_ROOT]
            if directory.resolve() == DEFAULT_ROOT.resolve()
            else [DEFAULT_ROOT, directory]
        )
        loaded = Catalog.load(*roots)
        problems = loaded.problems
        names = [f"{p.id}@{p.version}" for p in loaded.procedures()]
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
