"""Expressions (CEL) in procedure definitions: the reviewed functions, what the check
reports, and the shipped procedures' new versions computing exactly as the old ones."""

import itertools
import json
import random
import shutil
from pathlib import Path

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog
from forms.compute import compute_action
from forms.expressions import ExpressionError, Scope, check, evaluate
from forms.packages import check_package

TODAY = "2026-12-01"


def _eval(text: str, **env):
    return evaluate(text, today=env.pop("today", TODAY), **env)


# ---- the reviewed functions -----------------------------------------------------------


def test_floor1000_and_share_round_down_exactly():
    assert _eval("floor1000(1999)") == 1000
    assert _eval("floor1000(999.9)") == 0
    # 0.5 × 1,999 yen is 999.5: the share is 999, never 1,000.
    assert _eval("share(1999, 0.5)") == 999
    assert _eval("share(2000, 0.3)") == 600  # exact decimal, not 599.999...
    assert _eval("min(floor1000(share(2999999, 0.5)), 1000000)") == 1000000
    assert _eval("min(floor1000(share(1999999, 0.5)), 1000000)") == 999000


def test_sum_min_max_and_list_macros():
    data = {"items": [{"c": "a", "n": 3}, {"c": "b", "n": 4}, {"c": "a", "n": 5}]}
    assert _eval("sum(data.items.filter(i, i.c == 'a').map(i, i.n))", data=data) == 8
    assert _eval("sum([])") == 0
    assert _eval("max(1, 7, 3) - min(4, 2)") == 5
    assert _eval("size(data.items.filter(i, i.n > 3)) * 100000", data=data) == 200000


def test_band_picks_the_band_of_the_highest_lower_bound_not_above():
    table = [[50, "total"], [20, "half"], [0, "partial"]]
    assert [_eval("band(x, params.t)".replace("x", str(v)), params={"t": table})
            for v in (0, 19.99, 20, 49.5, 50, 100)] == [
        "partial", "partial", "half", "half", "total", "total"]
    with pytest.raises(ExpressionError, match="below the lowest band"):
        _eval("band(-1, params.t)", params={"t": table})


def test_age_at_counts_full_years_as_the_law_does():
    # 年齢計算ニ関スル法律: a year older at the end of the day before the birthday.
    assert _eval("age_at('2000-04-02', '2026-04-01')") == 26
    assert _eval("age_at('2000-04-02', '2026-03-31')") == 25
    assert _eval("age_at('2000-02-29', '2026-02-28')") == 26
    assert _eval("age_at('2000-02-29', '2026-02-27')") == 25
    assert _eval("age_at('2000-01-01', '2025-12-31')") == 26
    assert _eval("age_at('2000-01-01', '2025-12-30')") == 25
    assert _eval("age_at('2020-06-15', today)", today="2026-12-01") == 6


def test_school_age_is_the_age_by_the_31_march_before_the_fiscal_year():
    # Born 2 April 2008 and 1 April 2008: one grade apart. In fiscal 2026 the first is
    # still 高校生年代 (school age 17), the second left it on 31 March 2026.
    assert _eval("school_age('2008-04-02', '2026-12-01')") == 17
    assert _eval("school_age('2008-04-01', '2026-12-01')") == 18
    assert _eval("school_age('2008-04-01', '2026-03-31')") == 17  # fiscal 2025
    assert _eval("school_age('2020-01-10', '2027-01-10')") == 6


def test_wareki_names_the_era_year():
    assert _eval("wareki('2019-04-30')") == "平成31年"
    assert _eval("wareki('2019-05-01')") == "令和元年"
    assert _eval("wareki(today)") == "令和8年"
    assert _eval("wareki('1989-01-07')") == "昭和64年"


def test_day_after_is_the_next_calendar_day():
    assert _eval("day_after('2026-09-20')") == "2026-09-21"
    assert _eval("day_after('2024-02-28')") == "2024-02-29"  # a leap year
    assert _eval("day_after('2026-12-31')") == "2027-01-01"
    assert _eval("day_after('2026-09-20') > '2026-09-20'") is True


def test_results_are_plain_json_values():
    result = _eval("{'a': [1, 2.5, 'x', true, null], 'b': {'c': params.n}}", params={"n": 3})
    assert result == {"a": [1, 2.5, "x", True, None], "b": {"c": 3}}
    assert type(result["a"][0]) is int and type(result["a"][3]) is bool


@pytest.mark.parametrize(
    ("text", "env", "words"),
    [
        ("data.missing + 1", {}, "no such field: 'missing'"),
        ("'a' + 1", {}, "do not fit the operator"),
        ("floor1000('a')", {}, "floor1000() needs a number, not a text"),
        ("age_at(3, today)", {}, "needs a date"),
        ("age_at('2030-01-01', today)", {}, "before the birth date"),
        ("1 / 0", {}, "divide by zero"),
        ("b'x'", {}, "is not a JSON value"),
        ("(1", {}, "syntax error"),
    ],
)
def test_evaluation_errors_are_expression_errors_with_a_reason(text, env, words):
    with pytest.raises(ExpressionError) as caught:
        _eval(text, **env)
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)  # the workflow refuses, never stalls


def test_today_is_what_is_passed_in():
    assert _eval("today", today="2030-03-31") == "2030-03-31"


# ---- the check ------------------------------------------------------------------------

SCOPE = Scope(
    data={"": "object", "/expenses": "array", "/name": "string", "/employees": "integer",
          "/address": "object", "/address/city": "string"},
    steps={"survey": {"": "object", "/damage_ratio": "number"}, "accept": None},
    computed={"grant": frozenset({"amount", "total"}), "grade": None},
    params={"cap": 1000000, "table": {"low": 1}},
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min(floor1000(data.employees / 2), params.cap",
         "syntax error at column 43 in 'min(floor1000(data.employees / 2), params.cap'"),
        ("data.nmae + 'x'", "data.nmae: the form has no field /nmae"),
        ("data.address.town", "data.address.town: the form has no field /address/town"),
        ("datum.name", "unknown name 'datum' (an expression may read: data, steps, "
                       "computed, params, today)"),
        ("floor(1.5)", "unknown function 'floor' (functions: age_at, band, bool, day_after, "
                       "double, floor1000, has, int, max, min, school_age, share, size, "
                       "string, sum, type, wareki)"),
        ("data.name.upper()", "unknown method 'upper'"),
        ("floor1000(data.name)", "floor1000() needs a number; data.name is declared as string"),
        ("sum(data.employees)", "sum() needs a list; data.employees is declared as integer"),
        ("age_at(data.employees, today)",
         "age_at() needs a date text; data.employees is declared as integer"),
        ("share(1)", "share() takes 2 argument(s), not 1"),
        ("params.cop", "params.cop: params declares no 'cop' (declared: cap, table)"),
        ("params.table.high", "params.table.high: params.table declares no 'high' "
                              "(declared: low)"),
        ("computed.grnt.amount", "computed.grnt: nothing is computed as 'grnt' "
                                 "(computed: grade, grant)"),
        ("computed.grant.amout", "computed.grant.amout: 'grant' has no key 'amout' "
                                 "(keys: amount, total)"),
        ("steps.srvey.damage_ratio", "steps.srvey: no action 'srvey' (actions: accept, survey)"),
        ("steps.survey.ratio", "steps.survey.ratio: the input of 'survey' has no field /ratio"),
        ("today.year", "today.year: 'today' is a date text with no fields"),
        ("", "an expression must be a non-empty text"),
    ],
)
def test_check_reports_each_mistake_with_its_message(text, message):
    problems = check(text, SCOPE)
    assert problems and problems[0].startswith(message), problems


def test_check_accepts_what_the_scope_declares():
    for text in [
        "min(floor1000(share(computed.grant.total, 0.5)), params.cap)",
        "sum(data.expenses.filter(e, e.category == 'x').map(e, e.amount))",
        "steps.accept.anything + steps.survey.damage_ratio",
        "computed.grade.code == 'half' && has(data.address.city)",
        "age_at('2000-01-01', today) >= 18",
    ]:
        assert check(text, SCOPE) == [], text


# ---- packages -------------------------------------------------------------------------


def _grant_package(tmp_path: Path) -> Path:
    target = tmp_path / "my-grant"
    shutil.copytree(DEFAULT_ROOT / "sme-telework-grant", target)
    raw = json.loads((target / "procedure.json").read_text("utf-8"))
    raw["id"] = "my-grant"
    (target / "procedure.json").write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    return target


def _edit(package: Path, change) -> None:
    raw = json.loads((package / "procedure.json").read_text("utf-8"))
    change(raw)
    (package / "procedure.json").write_text(json.dumps(raw, ensure_ascii=False), "utf-8")


def test_a_package_reports_every_bad_expression_at_its_file_and_pointer(tmp_path):
    package = _grant_package(tmp_path)

    def change(raw):
        values = raw["stages"][1]["actions"][0]["compute"]["grant_amount"]["values"]
        values["amount"] = "min(floor1000(share(computed.grant_amount.eligible_totl, "
        values["amount"] += "params.rate)), params.cap)"
        values["cap"] = "params.kap"
        raw["stages"][3]["actions"][2]["compute"]["final_amount"]["values"]["rate"] = "(1"
        raw["eligibility"] = [{"rule": "data.business.employes <= 300",
                               "message": {"ja": "300人以下", "en": "300 or fewer"}}]

    _edit(package, change)
    shown = [str(p) for p in check_package(package)]
    assert shown == [
        "my-grant/procedure.json#/stages/1/actions/0/compute/grant_amount/values/amount: "
        "computed.grant_amount.eligible_totl: 'grant_amount' has no key 'eligible_totl' "
        "(keys: eligible_total)",
        "my-grant/procedure.json#/stages/1/actions/0/compute/grant_amount/values/cap: "
        "params.kap: params declares no 'kap' (declared: cap, eligible, rate)",
        "my-grant/procedure.json#/stages/3/actions/2/compute/final_amount/values/rate: "
        "syntax error at column 2 in '(1'",
        "my-grant/procedure.json#/eligibility/0/rule: data.business.employes: the form has "
        "no field /business/employes",
    ]


def test_a_value_reads_only_the_keys_before_it(tmp_path):
    package = _grant_package(tmp_path)

    def change(raw):
        values = raw["stages"][1]["actions"][0]["compute"]["grant_amount"]["values"]
        values["eligible_total"] = "computed.grant_amount.amount"

    _edit(package, change)
    assert [str(p) for p in check_package(package)] == [
        "my-grant/procedure.json#/stages/1/actions/0/compute/grant_amount/values/"
        "eligible_total: computed.grant_amount.amount: 'grant_amount' has no key 'amount' "
        "(keys: none)"]


def test_an_expression_computation_takes_no_inputs(tmp_path):
    package = _grant_package(tmp_path)

    def change(raw):
        raw["stages"][1]["actions"][0]["compute"]["grant_amount"]["inputs"] = {"a": "/x"}

    _edit(package, change)
    messages = [p.message for p in check_package(package)]
    assert any("an expression computation takes no 'input', 'inputs' or 'params'" in m
               for m in messages), messages


# ---- the shipped procedures: new versions compute as the old ones ---------------------


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    catalog = Catalog.load()
    assert catalog.problems == []
    return catalog


def _action(procedure, action_id):
    return next(a for s in procedure.definition.stages for a in s.actions if a.id == action_id)


def _compute(procedure, action_id, data, *, application, steps=None, computed=None):
    return compute_action(procedure.definition, _action(procedure, action_id), data,
                          application=application, steps=steps or {},
                          computed=computed or {}, today=TODAY)


def _expenses(rng: random.Random) -> list[dict]:
    categories = ["equipment", "software", "network", "training", "other"]
    return [{"category": rng.choice(categories), "amount": rng.choice(
        [0, 1, 999, 1000, 1999, 2001, rng.randrange(0, 3_000_000)])}
        for _ in range(rng.randrange(1, 6))]


def test_the_grant_1_2_0_computes_exactly_as_1_1_0(shipped):
    old = shipped.get("sme-telework-grant", "1.1.0")
    new = shipped.get("sme-telework-grant", "1.2.0")
    assert not any(c.is_expression for a in ("decide_grant", "confirm_amount")
                   for c in _action(old, a).compute.values())
    assert all(c.is_expression for a in ("decide_grant", "confirm_amount")
               for c in _action(new, a).compute.values())
    rng = random.Random(16)
    cases = [[{"category": "equipment", "amount": 1999}],
             [{"category": "software", "amount": 2_000_002}],
             [{"category": "other", "amount": 500_000}]]
    cases += [_expenses(rng) for _ in range(300)]
    for planned, paid in zip(cases, [*cases[1:], cases[0]], strict=True):
        application = {"expenses": planned}
        grant_old = _compute(old, "decide_grant", {}, application=application)
        grant_new = _compute(new, "decide_grant", {}, application=application)
        assert grant_new == grant_old, planned
        steps = {"submit_report": {"expenses": paid}}
        final_old = _compute(old, "confirm_amount", {}, application=application,
                             steps=steps, computed=grant_old)
        final_new = _compute(new, "confirm_amount", {}, application=application,
                             steps=steps, computed=grant_new)
        assert final_new == final_old, (planned, paid)


def test_the_disaster_certificate_1_3_0_grades_exactly_as_1_2_0(shipped):
    old = shipped.get("disaster-certificate", "1.2.0")
    new = shipped.get("disaster-certificate", "1.3.0")
    ratios = [r / 100 for r in range(0, 10001, 7)]
    ratios += list(itertools.chain.from_iterable(
        (b - 0.001, b, b + 0.001) for b in (10, 20, 30, 40, 50)))
    ratios += [0, 100, 45, 9.999999]
    for ratio in ratios:
        survey = {"damage_ratio": ratio, "surveyed_on": "2026-11-20"}
        assert (_compute(new, "survey", survey, application={})
                == _compute(old, "survey", survey, application={})), ratio
