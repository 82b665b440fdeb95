"""The grant's arithmetic: 1/2 of eligible cost, 千円未満切捨て, capped, never above the grant."""

from __future__ import annotations

import pytest

from forms.computations import default_registry, final_subsidy_amount, subsidy_amount

RULE = {"rate": 0.5, "cap": 1_000_000, "eligible": ["equipment", "software"]}


def _items(*pairs: tuple[str, int]) -> list[dict[str, object]]:
    return [{"category": c, "amount": a} for c, a in pairs]


def test_half_of_eligible_cost_floored_to_thousand_yen():
    result = subsidy_amount(
        {"expenses": _items(("equipment", 1_999), ("consulting", 9_999))}, **RULE
    )
    assert result["eligible_total"] == 1_999
    assert result["amount"] == 0  # 999.5 yen floors to 0 thousand


def test_cap_applies():
    result = subsidy_amount({"expenses": _items(("equipment", 5_000_000))}, **RULE)
    assert result["amount"] == 1_000_000


def test_final_amount_never_exceeds_the_grant():
    more = final_subsidy_amount(
        {"granted": 300_000, "expenses": _items(("software", 900_000))}, **RULE
    )
    less = final_subsidy_amount(
        {"granted": 300_000, "expenses": _items(("software", 400_001))}, **RULE
    )
    assert more["amount"] == 300_000
    assert less["amount"] == 200_000


@pytest.mark.parametrize(
    "bad",
    [
        {"expenses": "lots"},
        {"expenses": [{"category": "equipment", "amount": "100"}]},
        {"expenses": [{"category": "equipment", "amount": True}]},
    ],
)
def test_malformed_expenses_are_refused(bad):
    with pytest.raises(TypeError):
        subsidy_amount(bad, **RULE)


def test_negative_amounts_and_bad_rates_are_refused():
    with pytest.raises(ValueError):
        subsidy_amount({"expenses": _items(("equipment", -1))}, **RULE)
    with pytest.raises(ValueError):
        subsidy_amount({"expenses": []}, rate=1.5, cap=1, eligible=[])


def test_registered_with_params():
    registry = default_registry()
    result = registry.compute("subsidy_amount", {"expenses": _items(("equipment", 10_000))}, **RULE)
    assert result["amount"] == 5_000
