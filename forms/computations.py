"""Named computations a procedure may call from its definition.

A stage action says ``"compute": {"damage_grade": {"function": "damage_grade", "input":
"/damage_ratio"}}``; the workflow looks the function up here by name and feeds it the value
at that pointer. Procedures stay data, the arithmetic stays reviewed Python.

This module is imported inside Temporal workflow code, so it must stay deterministic and
sandbox-safe: no I/O, no clock, no jsonschema, nothing but the standard library's maths.
Tests build their own :class:`ComputationRegistry` instead of touching the default one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

__all__ = [
    "ComputationRegistry",
    "damage_grade",
    "default_registry",
    "final_subsidy_amount",
    "subsidy_amount",
]

Computation = Callable[..., object]


class ComputationRegistry:
    """Computations keyed by the name a ``procedure.json`` uses for them."""

    def __init__(self) -> None:
        self._functions: dict[str, Computation] = {}

    def register(self, name: str, fn: Computation) -> None:
        """Add ``fn`` under ``name``.

        :raises ValueError: if ``name`` is already registered (a silent replacement could
            change the result of procedures already in force).
        """
        if name in self._functions:
            raise ValueError(f"computation {name!r} is already registered")
        self._functions[name] = fn

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._functions)

    def compute(self, name: str, value: object, **params: object) -> object:
        """Run the computation ``name`` on ``value`` with the procedure's ``params``.

        :raises KeyError: if no computation has that name.
        :raises ValueError / TypeError: whatever the computation raises for a bad value.
        """
        try:
            fn = self._functions[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise KeyError(f"unknown computation {name!r} (registered: {known})") from None
        return fn(value, **params)


# 災害に係る住家の被害認定基準運用指針 (内閣府): the grade follows the ratio of damage to
# the dwelling's main elements (損害割合, %). Lower bounds are inclusive.
_DAMAGE_GRADES: tuple[tuple[float, str, str, str], ...] = (
    (50.0, "total", "全壊", "Total destruction"),
    (40.0, "large_scale_half", "大規模半壊", "Large-scale half destruction"),
    (30.0, "medium_scale_half", "中規模半壊", "Medium-scale half destruction"),
    (20.0, "half", "半壊", "Half destruction"),
    (10.0, "semi_half", "準半壊", "Semi-half destruction"),
    (0.0, "partial", "一部損壊", "Partial damage"),
)


def damage_grade(ratio: float) -> dict[str, str]:
    """The 被害の程度 for a damage ratio in percent.

    全壊 ≥ 50, 大規模半壊 40–<50, 中規模半壊 30–<40, 半壊 20–<30, 準半壊 10–<20, otherwise
    一部損壊. Returns ``{"code", "ja", "en"}``, e.g. ``{"code": "half", "ja": "半壊", ...}``.

    :raises TypeError: if ``ratio`` is not a real number (booleans included).
    :raises ValueError: if ``ratio`` is not finite or lies outside 0..100.
    """
    if isinstance(ratio, bool) or not isinstance(ratio, int | float):
        raise TypeError(f"damage ratio must be a number, not {type(ratio).__name__}")
    if not math.isfinite(ratio) or not 0 <= ratio <= 100:
        raise ValueError(f"damage ratio must be between 0 and 100 percent, got {ratio!r}")
    for lower, code, ja, en in _DAMAGE_GRADES:
        if ratio >= lower:
            return {"code": code, "ja": ja, "en": en}
    raise AssertionError("unreachable: the last grade starts at 0")  # pragma: no cover


def _eligible_total(expenses: object, eligible: Sequence[str]) -> int:
    if not isinstance(expenses, list):
        raise TypeError("expenses must be a list of {category, amount} items")
    total = 0
    for item in expenses:
        if (
            not isinstance(item, dict)
            or isinstance(item.get("amount"), bool)
            or not isinstance(item.get("amount"), int)
        ):
            raise TypeError("each expense needs an integer 'amount'")
        if item["amount"] < 0:
            raise ValueError("an expense amount cannot be negative")
        if item.get("category") in eligible:
            total += item["amount"]
    return total


def _subsidy(eligible_total: int, rate: float, cap: int) -> int:
    # 補助金の額は千円未満切捨て; exact fractions, so 0.5 × 1,999 yen never rounds up.
    share = Fraction(str(rate)) * eligible_total
    return min(int(share) // 1000 * 1000, cap)


def subsidy_amount(
    value: Mapping[str, object], *, rate: float, cap: int, eligible: Sequence[str]
) -> dict[str, object]:
    """The grant for planned expenses: ``rate`` of the eligible total, floored to 1,000 yen,
    at most ``cap``. ``value`` is ``{"expenses": [{"category", "amount"}, ...]}``."""
    if not 0 < rate <= 1 or cap < 0:
        raise ValueError("rate must be in (0, 1] and cap non-negative")
    total = _eligible_total(value.get("expenses"), eligible)
    return {
        "amount": _subsidy(total, rate, cap),
        "eligible_total": total,
        "eligible_categories": list(eligible),
        "rate": rate,
        "cap": cap,
    }


def final_subsidy_amount(
    value: Mapping[str, object], *, rate: float, cap: int, eligible: Sequence[str]
) -> dict[str, object]:
    """額の確定: the grant for the expenses actually paid, never above the amount granted.
    ``value`` is ``{"granted": int, "expenses": [...]}``."""
    granted = value.get("granted")
    if isinstance(granted, bool) or not isinstance(granted, int):
        raise TypeError("the granted amount must be an integer")
    planned = subsidy_amount(value, rate=rate, cap=cap, eligible=eligible)
    return {**planned, "amount": min(int(planned["amount"]), granted), "granted": granted}


def default_registry() -> ComputationRegistry:
    """A fresh registry holding the computations procedures may use."""
    registry = ComputationRegistry()
    registry.register("damage_grade", damage_grade)
    registry.register("subsidy_amount", subsidy_amount)
    registry.register("final_subsidy_amount", final_subsidy_amount)
    return registry
