"""The distribution's import names: every layer is packaged, and no other installed
distribution provides one of its names (see docs/architecture.md, "Import names")."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _packaged() -> set[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.removesuffix("*") for pattern in include}


def test_every_layer_is_in_the_distribution() -> None:
    layers = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests", "benchmarks"}
    assert layers == _packaged()


def test_no_other_distribution_provides_our_import_names() -> None:
    providers = importlib.metadata.packages_distributions()
    clashes = {name: sorted(set(providers.get(name, [])) - {"madoguchi"})
               for name in _packaged()}
    assert {name: dists for name, dists in clashes.items() if dists} == {}
