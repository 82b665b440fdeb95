"""児童手当 認定請求 (child-allowance 1.0.0): the monthly amount by age band and birth order,
and who may claim, all as expressions in its procedure.json."""

import copy
import datetime as dt
import json

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog
from forms.compute import compute_action
from forms.filing import validate_application
from forms.municipalities import load_municipalities

TODAY = dt.date(2026, 12, 1)
EXAMPLES = DEFAULT_ROOT / "child-allowance" / "examples"


@pytest.fixture(scope="module")
def procedure():
    catalog = Catalog.load()
    assert catalog.problems == []
    return catalog.get("child-allowance")


def _claim(births: list[str], older: int = 0) -> dict:
    data = json.loads((EXAMPLES / "valid-three-children.json").read_text("utf-8"))
    template = data["children"][0]
    data["children"] = [{**copy.deepcopy(template), "birth_date": b} for b in births]
    data["older_children"] = older
    return data


def _monthly(procedure, data) -> dict:
    certify = next(a for a in procedure.definition.stages[0].actions if a.id == "certify")
    return compute_action(procedure.definition, certify, {}, application=data, steps={},
                          computed={}, today=TODAY)["allowance"]


@pytest.mark.parametrize(
    ("births", "older", "monthly"),
    [
        (["2025-03-03"], 0, 15_000),                      # under 3
        (["2016-06-01"], 0, 10_000),                      # 3 to high-school age
        (["2016-06-01", "2020-09-15", "2025-03-03"], 0, 50_000),  # 10k + 10k + 3rd: 30k
        (["2016-06-01", "2020-09-15", "2025-03-03"], 1, 70_000),  # an older child counts
        (["2020-09-15", "2025-03-03"], 2, 60_000),        # both 3rd or later
        (["2020-01-01", "2023-05-05", "2023-05-05"], 0, 50_000),  # twins 2nd/3rd
        (["2020-01-01", "2025-01-01", "2025-01-01"], 0, 55_000),  # twins under 3: 15k + 30k
        (["2023-12-02"], 0, 10_000),                      # 3 on the eve of the birthday
        (["2023-12-03"], 0, 15_000),
    ],
)
def test_monthly_amount_by_age_band_and_birth_order(procedure, births, older, monthly):
    assert _monthly(procedure, _claim(births, older))["monthly"] == monthly


def test_an_overlay_may_change_the_amounts(tmp_path):
    overlays = tmp_path / "municipalities" / "131016" / "overlays"
    overlays.mkdir(parents=True)
    (overlays / "child-allowance.json").write_text(
        json.dumps({"procedure": {"params": {"from3": 12000}}}), "utf-8")
    catalog = Catalog.load(DEFAULT_ROOT, tmp_path)
    local = catalog.get("child-allowance", municipality="131016")
    assert _monthly(local, _claim(["2016-06-01"]))["monthly"] == 12_000


TOKYO = load_municipalities()["131016"]


def test_a_child_past_high_school_age_is_refused_with_the_rule_message(procedure):
    refused = validate_application(procedure, TOKYO, _claim(["2008-04-01"]), today=TODAY)
    assert [(e.path, e.code) for e in refused.errors] == [("/children", "ineligible")]
    assert "高校生年代" in refused.errors[0].message["ja"]
    assert "high-school age" in refused.errors[0].message["en"]
    # One day younger is one grade lower: still 高校生年代 in fiscal 2026.
    assert validate_application(procedure, TOKYO, _claim(["2008-04-02"]), today=TODAY).valid
