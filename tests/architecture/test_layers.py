"""The layering of docs/architecture.md, read from the imports, so it cannot silently regress.

Each package may import only the packages below it; HTTP (FastAPI, Starlette, status codes)
exists only in ``portal`` (and the ``madoguchi`` processes that serve it); a page or API
route never imports another route module, and no page builds a ``Request``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: What each of our packages may import of ours (transitively closed by hand: read top down).
ALLOWED: dict[str, set[str]] = {
    "forms": set(),
    "identity": {"forms"},
    "records": {"forms", "identity"},
    "adapters": {"forms", "identity"},
    "documents": {"forms", "records"},
    "notices": {"forms", "records"},
    "workflows": {"forms", "identity", "records", "adapters", "documents", "notices"},
    "services": {"forms", "identity", "records", "adapters", "documents", "notices",
                 "workflows"},
    "portal": {"forms", "identity", "records", "adapters", "documents", "notices", "workflows",
               "services"},
    "madoguchi": {"forms", "identity", "records", "adapters", "documents", "notices",
                  "workflows", "services", "portal"},
}
HTTP_FRAMEWORKS = {"fastapi", "starlette"}
HTTP_FREE = ("forms", "identity", "records", "adapters", "documents", "notices", "workflows",
             "services")
ROUTE_PACKAGES = ("portal.api.routes", "portal.pages")


def _modules(package: str) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((REPO / package).rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        yield name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # "from portal.api.routes import verify"
                yield node.lineno, f"{node.module}.{alias.name}"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = []
    for module, tree in _modules(package):
        for line, imported in _imports(tree):
            top = imported.split(".")[0]
            if top in ALLOWED and top != package and top not in ALLOWED[package]:
                wrong.append(f"{module}:{line} imports {imported}")
    assert not wrong, "\n".join(sorted(set(wrong)))


@pytest.mark.parametrize("package", HTTP_FREE)
def test_no_http_below_the_portal(package: str) -> None:
    """No FastAPI/Starlette, and no HTTP status given (``status=403``, ``HTTPStatus``)
    outside the portal: a refusal has a kind, the portal maps it. (Reading the status of a
    response to our own outgoing call, as the Web Push and webhook clients do, is fine.)"""
    wrong = []
    for module, tree in _modules(package):
        for line, imported in _imports(tree):
            if imported.split(".")[0] in HTTP_FRAMEWORKS or imported.startswith("http."):
                wrong.append(f"{module}:{line} imports {imported}")
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in ("status", "status_code") and \
                    isinstance(node.value, ast.Constant) and isinstance(node.value.value, int) \
                    and 100 <= node.value.value <= 599:
                wrong.append(f"{module}:{node.value.lineno} passes an HTTP status")
            if isinstance(node, ast.Name | ast.Attribute) and \
                    getattr(node, "id", getattr(node, "attr", None)) == "HTTPStatus":
                wrong.append(f"{module}:{node.lineno} names an HTTP status")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_route_modules_do_not_import_each_other() -> None:
    wrong = []
    for module, tree in _modules("portal"):
        if not module.startswith(ROUTE_PACKAGES):
            continue
        for line, imported in _imports(tree):
            if imported.startswith(ROUTE_PACKAGES) and imported not in ROUTE_PACKAGES:
                wrong.append(f"{module}:{line} imports {imported}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_no_page_builds_a_request() -> None:
    wrong = []
    for module, tree in _modules("portal"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id == "Request":
                wrong.append(f"{module}:{node.lineno} builds a Request")
    assert not wrong, "\n".join(wrong)


def test_the_checks_see_a_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks above are not vacuous: a planted violation is found."""
    bad = tmp_path / "workflows"
    bad.mkdir()
    (bad / "x.py").write_text("from fastapi import Request\nfrom services import cases\n"
                              "def f():\n    return dict(status=404)\n")
    monkeypatch.setitem(globals(), "REPO", tmp_path)
    with pytest.raises(AssertionError, match="imports services"):
        test_a_package_imports_only_the_layers_below_it("workflows")
    with pytest.raises(AssertionError, match="fastapi"):
        test_no_http_below_the_portal("workflows")
    with pytest.raises(AssertionError, match="passes an HTTP status"):
        test_no_http_below_the_portal("workflows")


def test_tests_share_helpers_through_tests_support_only() -> None:
    """A test module imports helpers from tests/support, never from a conftest module or
    another test module (conftest modules hold fixtures)."""
    wrong = []
    for module, tree in _modules("tests"):
        for line, imported in _imports(tree):
            parts = imported.split(".")
            if parts[0] != "tests" or len(parts) < 2:
                continue
            if "conftest" in parts or any(p.startswith("test_") for p in parts):
                wrong.append(f"{module}:{line} imports {imported}")
    assert not wrong, "\n".join(sorted(set(wrong)))
