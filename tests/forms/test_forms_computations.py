import math

import pytest

from forms.computations import ComputationRegistry, damage_grade, default_registry


@pytest.mark.parametrize(
    ("ratio", "code", "ja"),
    [
        (0, "partial", "一部損壊"),
        (9.99, "partial", "一部損壊"),
        (10, "semi_half", "準半壊"),
        (19.99, "semi_half", "準半壊"),
        (20, "half", "半壊"),
        (29.9, "half", "半壊"),
        (30, "medium_scale_half", "中規模半壊"),
        (39.99, "medium_scale_half", "中規模半壊"),
        (40, "large_scale_half", "大規模半壊"),
        (49.99, "large_scale_half", "大規模半壊"),
        (50, "total", "全壊"),
        (100, "total", "全壊"),
    ],
)
def test_damage_grade_boundaries(ratio, code, ja):
    grade = damage_grade(ratio)
    assert grade["code"] == code
    assert grade["ja"] == ja
    assert grade["en"]


@pytest.mark.parametrize("ratio", [-1, 101, -0.01, 100.01, math.nan, math.inf])
def test_damage_grade_refuses_ratios_outside_0_to_100(ratio):
    with pytest.raises(ValueError):
        damage_grade(ratio)


@pytest.mark.parametrize("ratio", ["50", None, True])
def test_damage_grade_refuses_non_numbers(ratio):
    with pytest.raises(TypeError):
        damage_grade(ratio)


def test_default_registry_is_fresh_and_computes_damage_grade():
    first, second = default_registry(), default_registry()
    assert first is not second
    assert first.compute("damage_grade", 45)["code"] == "large_scale_half"
    first.register("double", lambda v: v * 2)
    assert "double" not in second


def test_unknown_computation_is_a_clear_key_error():
    registry = ComputationRegistry()
    registry.register("one", lambda v: 1)
    with pytest.raises(KeyError, match=r"unknown computation 'subsidy'.*one"):
        registry.compute("subsidy", 1)


def test_registering_a_name_twice_is_refused():
    registry = ComputationRegistry()
    registry.register("f", lambda v: v)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("f", lambda v: v)


def test_computations_module_imports_only_pure_stdlib():
    # It runs inside the Temporal workflow sandbox: no I/O, clock or jsonschema.
    import ast
    from pathlib import Path

    import forms.computations as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= {"__future__", "math", "fractions", "collections.abc"}
