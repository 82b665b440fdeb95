"""The catalogue's life events as data (被災した, 子どもが生まれた) and the procedures they
file, evaluated as the engine evaluates them: each household of the examples is offered
what it qualifies for; the form mapped for each procedure passes that procedure's own form
and eligibility rules (in the municipality, with the resident's sign-in); the amounts the
dependent procedure then computes are the law's (被災者生活再建支援法: 基礎 by grade, 加算 by
plan, ¾ for one person); a grade that does not qualify files nothing, with the reason; and
Chiyoda's overlay adds its own 国民健康保険料の減免 and its own 見舞金 amounts."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog
from forms.compute import compute_action
from forms.expressions import Bindings, evaluate_with
from forms.filing import validate_application
from forms.lifeevent_packages import validate_answers
from forms.lifeevents import LifeEventDefinition
from forms.lifeevents_mapping import (
    dependency_holds,
    events_binding,
    is_eligible,
    life_event_bindings,
    map_form,
    prefill_values,
    upstream_case,
)
from forms.municipalities import load_municipalities

LIFE_EVENTS = DEFAULT_ROOT / "life-events"
CHIYODA = "131016"
YOKOHAMA = "141003"
PLACES = load_municipalities()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    loaded = Catalog.load()
    assert loaded.problems == []
    return loaded


def _example(event: str, name: str) -> dict[str, Any]:
    return json.loads((LIFE_EVENTS / event / "examples" / f"{name}.json").read_text("utf-8"))


def _grade(code: str) -> dict[str, Any]:
    """The 罹災証明書's report once issued with ``code`` (as its survey computes it)."""
    titles = {"total": "全壊", "large_scale_half": "大規模半壊", "medium_scale_half": "中規模半壊",
              "half": "半壊", "semi_half": "準半壊", "partial": "一部損壊"}
    return {"status": "issuing", "data": {}, "steps": {},
            "computed": {"damage_grade": {"code": code, "ja": titles[code], "en": code}},
            "documents": [{"type": "application-copy"}, {"type": "certificate"}]}


def _bindings(definition: LifeEventDefinition, example: dict[str, Any], municipality: str,
              case: dict[str, Any] | None = None) -> Bindings:
    return life_event_bindings(
        definition, answers=example["answers"], applicant=example["applicant"],
        household=example["household"], account=example["account"],
        events=events_binding(PLACES[municipality]), today=example["today"],
        case=upstream_case(case) if case is not None else None)


def _offers(catalog: Catalog, event: str, example: dict[str, Any], municipality: str) -> list[str]:
    definition = catalog.life_event(event, municipality=municipality).definition
    bindings = _bindings(definition, example, municipality)
    return [p.procedure for p in definition.procedures if is_eligible(p, bindings)]


def _filed(catalog: Catalog, event: str, example: dict[str, Any], municipality: str,
           procedure_id: str, upstream: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The form the bundle files for ``procedure_id`` (None: its dependency does not hold),
    after checking it passes the procedure's form and eligibility rules as a filing would."""
    definition = catalog.life_event(event, municipality=municipality).definition
    offered = definition.offered(procedure_id)
    assert offered is not None
    case = upstream if offered.after is not None else None
    bindings = _bindings(definition, example, municipality, case)
    if offered.after is not None and not dependency_holds(offered.after, bindings):
        return None
    form = map_form(offered, bindings)
    procedure = catalog.get(procedure_id, None, municipality)
    result = validate_application(procedure, PLACES[municipality], form,
                                  today=dt.date.fromisoformat(example["today"]),
                                  applicant=example["applicant"])
    assert result.valid, (procedure_id, result.errors)
    return form


def _computed(catalog: Catalog, procedure_id: str, form: dict[str, Any], municipality: str,
              today: str, step: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the procedure's computing action (the first stage's) gives on ``form``."""
    definition = catalog.get(procedure_id, None, municipality).definition
    action = next(a for a in definition.stages[0].actions if a.compute)
    steps = {action.id: step} if step is not None else {}
    return compute_action(definition, action, step or {}, application=form, steps=steps,
                          computed={}, today=today)


def test_every_life_event_is_valid_data_and_offers_only_loaded_procedures(catalog):
    for folder in sorted(p for p in LIFE_EVENTS.iterdir() if p.is_dir()):
        raw = json.loads((folder / "life-event.json").read_text("utf-8"))
        definition = LifeEventDefinition.model_validate(raw)
        assert definition.id == folder.name
        for offered in definition.procedures:
            catalog.get(offered.procedure)  # raises if the catalogue does not load it
    assert {e.id for e in catalog.life_events(CHIYODA)} == {"disaster", "birth", "bereavement"}


# ---------------------------------------------------------------- 被災した (disaster)

@pytest.mark.parametrize(("name", "offered"), [
    ("total-family-builds", ["disaster-certificate", "livelihood-recovery-support",
                             "disaster-condolence-money", "nhi-premium-reduction"]),
    ("half-no-support-grant", ["disaster-certificate", "livelihood-recovery-support",
                               "disaster-condolence-money", "nhi-premium-reduction"]),
    ("single-person-large-scale-half", ["disaster-certificate", "livelihood-recovery-support",
                                        "disaster-condolence-money"]),
    ("registry-down-typed", ["disaster-certificate", "livelihood-recovery-support",
                             "disaster-condolence-money"]),
    ("shop-certificate-only", ["disaster-certificate"]),
])
def test_chiyoda_offers_its_own_relief_to_nhi_households_only(catalog, name, offered):
    example = _example("disaster", name)
    assert _offers(catalog, "disaster", example, CHIYODA) == offered
    # Elsewhere the standard offers: the example's own list, without Chiyoda's relief.
    assert _offers(catalog, "disaster", example, YOKOHAMA) == example["offered"]
    assert "nhi-premium-reduction" not in example["offered"]


def test_the_questionnaire_is_prefilled_from_the_card_the_registry_and_the_account(catalog):
    example = _example("disaster", "total-family-builds")
    definition = catalog.life_event("disaster", municipality=CHIYODA).definition
    found = prefill_values(definition, _bindings(definition, example, CHIYODA))
    assert found["/applicant/birth_date"] == ("1975-04-10", "card")
    assert found["/household_size"] == (3, "registry")
    assert [m["relationship"] for m in found["/household_members"][0]] == ["世帯主", "妻", "子"]
    account, source = found["/bank_account"]
    assert source == "account"
    assert account == {"bank_code": "0001", "branch_code": "001", "account_type": "ordinary",
                       "account_number": "1234567", "holder_kana": "ヤマダ タロウ"}
    # No 公金受取口座 registered: nothing is prefilled, the resident types the account.
    single = _example("disaster", "single-person-large-scale-half")
    assert "/bank_account" not in prefill_values(definition, _bindings(definition, single,
                                                                       CHIYODA))


def test_the_certificate_is_filed_at_once_with_the_shared_answers(catalog):
    example = _example("disaster", "total-family-builds")
    form = _filed(catalog, "disaster", example, CHIYODA, "disaster-certificate")
    answers = example["answers"]
    assert form["applicant"] == {k: answers["applicant"][k]
                                 for k in ("name", "address", "phone", "email")}
    assert form["property"] == answers["property"]
    assert form["damage"] == answers["damage"]


def test_total_destruction_files_the_support_grant_with_the_grade_and_full_amount(catalog):
    example = _example("disaster", "total-family-builds")
    form = _filed(catalog, "disaster", example, CHIYODA, "livelihood-recovery-support",
                  _grade("total"))
    assert form["damage_grade"] == "total"
    assert form["household_size"] == 3
    assert form["bank_account"] == example["answers"]["bank_account"]
    support = _computed(catalog, "livelihood-recovery-support", form, CHIYODA,
                        example["today"])["support"]
    assert (support["basic"], support["additional"], support["total"]) == (
        1_000_000, 2_000_000, 3_000_000)


@pytest.mark.parametrize(("grade", "size", "plan", "basic", "additional"), [
    ("total", 3, "build_or_buy", 1_000_000, 2_000_000),
    ("total", 1, "build_or_buy", 750_000, 1_500_000),           # one person: ¾
    ("large_scale_half", 2, "repair", 500_000, 1_000_000),
    ("large_scale_half", 1, "rent", 375_000, 375_000),
    ("large_scale_half", 4, "undecided", 500_000, 0),            # 加算 later, once decided
    ("medium_scale_half", 3, "build_or_buy", 0, 1_000_000),      # its own table
    ("medium_scale_half", 3, "repair", 0, 500_000),
    ("medium_scale_half", 3, "rent", 0, 250_000),
    ("medium_scale_half", 1, "rent", 0, 187_500),
])
def test_the_support_grant_follows_the_act_by_grade_plan_and_household(
        catalog, grade, size, plan, basic, additional):
    example = copy.deepcopy(_example("disaster", "total-family-builds"))
    example["household"]["size"] = size
    example["answers"]["rebuilding_plan"] = plan
    form = _filed(catalog, "disaster", example, CHIYODA, "livelihood-recovery-support",
                  _grade(grade))
    support = _computed(catalog, "livelihood-recovery-support", form, CHIYODA,
                        example["today"])["support"]
    assert (support["basic"], support["additional"]) == (basic, additional)
    assert support["total"] == basic + additional


def test_a_one_person_household_gets_three_quarters(catalog):
    example = _example("disaster", "single-person-large-scale-half")
    form = _filed(catalog, "disaster", example, CHIYODA, "livelihood-recovery-support",
                  example["upstream"]["disaster-certificate"])
    assert form["household_size"] == 1
    support = _computed(catalog, "livelihood-recovery-support", form, CHIYODA,
                        example["today"])["support"]
    assert support == {"grade": "large_scale_half", "basic_full": 500_000,
                       "additional_full": 500_000, "single": True, "basic": 375_000,
                       "additional": 375_000, "total": 750_000}


@pytest.mark.parametrize("grade", ["half", "semi_half", "partial"])
def test_a_grade_that_does_not_qualify_files_no_support_grant_and_says_why(catalog, grade):
    example = _example("disaster", "half-no-support-grant")
    assert _filed(catalog, "disaster", example, CHIYODA, "livelihood-recovery-support",
                  _grade(grade)) is None
    offered = catalog.life_event("disaster", municipality=CHIYODA).definition.offered(
        "livelihood-recovery-support")
    assert "対象にならないため、申請しませんでした" in offered.after.not_filed.ja
    assert "was not filed" in offered.after.not_filed.en
    # Filed alone, the procedure itself refuses such a grade with its own rule.
    form = _filed(catalog, "disaster", example, CHIYODA, "livelihood-recovery-support",
                  _grade("total"))
    procedure = catalog.get("livelihood-recovery-support", None, CHIYODA)
    refused = validate_application(procedure, PLACES[CHIYODA], {**form, "damage_grade": grade},
                                   today=dt.date(2026, 10, 1))
    assert [e.path for e in refused.errors] == ["/damage_grade"]


def test_medium_scale_half_without_a_plan_waits_for_the_plan(catalog):
    example = _example("disaster", "registry-down-typed")
    assert example["answers"]["rebuilding_plan"] == "undecided"
    assert _filed(catalog, "disaster", example, CHIYODA, "livelihood-recovery-support",
                  _grade("medium_scale_half")) is None
    # A large-scale half destruction is filed now (基礎 only; 加算 when the plan is made).
    form = _filed(catalog, "disaster", example, CHIYODA, "livelihood-recovery-support",
                  _grade("large_scale_half"))
    assert _computed(catalog, "livelihood-recovery-support", form, CHIYODA,
                     example["today"])["support"]["total"] == 500_000


def test_a_re_survey_that_changes_the_grade_amends_the_support_grant(catalog):
    example = _example("disaster", "total-family-builds")
    offered = catalog.life_event("disaster").definition.offered("livelihood-recovery-support")
    assert offered.after.on == "document:certificate"
    assert offered.after.on_change == "amend"
    first = _filed(catalog, "disaster", example, CHIYODA, "livelihood-recovery-support",
                   _grade("large_scale_half"))
    second = _filed(catalog, "disaster", example, CHIYODA, "livelihood-recovery-support",
                    _grade("total"))
    assert {k for k in first if first[k] != second[k]} == {"damage_grade"}
    amounts = [_computed(catalog, "livelihood-recovery-support", f, CHIYODA,
                         example["today"])["support"]["total"] for f in (first, second)]
    assert amounts == [2_500_000, 3_000_000]


def test_condolence_money_takes_the_municipalitys_amounts(catalog):
    example = _example("disaster", "half-no-support-grant")
    form = _filed(catalog, "disaster", example, CHIYODA, "disaster-condolence-money",
                  _grade("half"))
    assert form["property"]["occupancy"] == "owner"
    chiyoda = _computed(catalog, "disaster-condolence-money", form, CHIYODA, example["today"])
    standard = _computed(catalog, "disaster-condolence-money", form, YOKOHAMA,
                         example["today"])
    assert chiyoda["condolence"]["amount"] == 50_000  # Chiyoda's overlay
    assert standard["condolence"]["amount"] == 20_000  # the standard's default
    assert _filed(catalog, "disaster", example, CHIYODA, "disaster-condolence-money",
                  _grade("partial")) is None


def test_chiyodas_nhi_reduction_is_filed_for_half_destruction_or_worse(catalog):
    example = _example("disaster", "total-family-builds")
    form = _filed(catalog, "disaster", example, CHIYODA, "nhi-premium-reduction",
                  _grade("half"))
    assert form["insurance"] == example["answers"]["nhi"]
    assert form["fiscal_year"] == 2026  # the 年度 of the disaster (2026-09-20)
    assessment = {"annual_premium": 240_000, "remaining_premium": 120_000}
    reduction = _computed(catalog, "nhi-premium-reduction", form, CHIYODA, example["today"],
                          assessment)["reduction"]
    assert (reduction["rate"], reduction["amount"], reduction["premium_after"]) == (
        0.5, 60_000, 180_000)
    assert _filed(catalog, "disaster", example, CHIYODA, "nhi-premium-reduction",
                  _grade("semi_half")) is None


@pytest.mark.parametrize(("date", "fiscal_year"), [
    ("2026-03-31", 2025), ("2026-04-01", 2026), ("2026-09-20", 2026), ("2027-03-31", 2026)])
def test_the_fiscal_year_of_an_event_date(catalog, date, fiscal_year):
    offered = catalog.life_event("disaster", municipality=CHIYODA).definition.offered(
        "nhi-premium-reduction")
    text = offered.form["/fiscal_year"].replace("events[data.disaster_event].date", "today")
    assert evaluate_with(text, Bindings(today=date)) == fiscal_year


def test_the_ledger_reads_address_size_grade_and_amounts(catalog):
    definition = catalog.life_event("disaster").definition
    example = _example("disaster", "total-family-builds")
    bindings = _bindings(definition, example, CHIYODA)
    assert evaluate_with(definition.ledger.address, bindings) == "東京都千代田区永田町一丁目7番1号"
    assert evaluate_with(definition.ledger.household_size, bindings) == 3
    grade = evaluate_with(definition.ledger.grade.value,
                          _bindings(definition, example, CHIYODA, _grade("total")))
    assert grade["code"] == "total"
    support = {"status": "completed", "computed": {"support": {"total": 3_000_000}}}
    amount = next(a for a in definition.ledger.amounts
                  if a.procedure == "livelihood-recovery-support")
    assert evaluate_with(amount.value, _bindings(definition, example, CHIYODA, support)) == (
        3_000_000)


# ------------------------------------------------------------ 子どもが生まれた (birth)

def test_a_mother_files_all_three_for_her_newborn(catalog):
    example = _example("birth", "mother-first-child")
    assert _offers(catalog, "birth", example, CHIYODA) == [
        "child-allowance", "child-medical-subsidy", "pregnancy-support-benefit"]
    allowance = _filed(catalog, "birth", example, CHIYODA, "child-allowance")
    assert [c["birth_date"] for c in allowance["children"]] == ["2026-09-28"]
    assert _computed(catalog, "child-allowance", allowance, CHIYODA,
                     example["today"])["allowance"]["monthly"] == 15_000
    medical = _filed(catalog, "birth", example, CHIYODA, "child-medical-subsidy")
    assert medical["guardian"] == example["answers"]["parent"]
    assert medical["insurance"] == example["answers"]["insurance"]
    benefit = _filed(catalog, "birth", example, CHIYODA, "pregnancy-support-benefit")
    assert benefit["birth"] == {"date": "2026-09-28", "children": 1}
    assert _computed(catalog, "pregnancy-support-benefit", benefit, CHIYODA,
                     example["today"])["benefit"]["total"] == 50_000


def test_a_newborn_is_of_high_school_age_for_the_child_allowance(catalog):
    """児童手当 1.1.0's rule called school_age() on a child born after the last 31 March,
    which raises (the reference date is before the birth): a newborn was refused. 1.2.0
    is filed; the 1.1.0 snapshot stays as it was for the cases pinned to it."""
    example = _example("birth", "mother-first-child")
    form = _filed(catalog, "birth", example, CHIYODA, "child-allowance")
    old = catalog.get("child-allowance", "1.1.0", CHIYODA)
    refused = validate_application(old, PLACES[CHIYODA], form, today=dt.date(2026, 10, 1))
    assert [e.path for e in refused.errors] == ["/children"]
    assert catalog.get("child-allowance").version == "1.2.0"


def test_a_father_of_twins_already_receiving_the_allowance_gets_the_medical_certificates(catalog):
    example = _example("birth", "father-twins-second-birth")
    assert _offers(catalog, "birth", example, CHIYODA) == ["child-medical-subsidy"]
    medical = _filed(catalog, "birth", example, CHIYODA, "child-medical-subsidy")
    assert [c["name"]["given"] for c in medical["children"]] == ["蒼", "葵"]
    assert _computed(catalog, "child-medical-subsidy", medical, CHIYODA,
                     example["today"])["certificate"]["children"] == 2


def test_the_new_claim_lists_the_siblings_and_the_unpaid_first_benefit(catalog):
    example = _example("birth", "mother-second-child-new-claim")
    allowance = _filed(catalog, "birth", example, CHIYODA, "child-allowance")
    assert [c["birth_date"] for c in allowance["children"]] == ["2026-08-03", "2022-09-28"]
    assert allowance["older_children"] == 0
    monthly = _computed(catalog, "child-allowance", allowance, CHIYODA,
                        example["today"])["allowance"]["monthly"]
    assert monthly == 15_000 + 10_000  # the newborn under 3, the sister of 3
    benefit = _filed(catalog, "birth", example, CHIYODA, "pregnancy-support-benefit")
    assert benefit["first_benefit_received"] is False
    assert _computed(catalog, "pregnancy-support-benefit", benefit, CHIYODA,
                     example["today"])["benefit"]["total"] == 100_000


def test_registry_members_without_kana_or_sex_still_fit_the_questionnaire(catalog):
    """The registry gives ``name_kana``/``gender`` as null where it has none: the prefill
    keeps name, birth date and relationship only, so the answers still validate."""
    example = copy.deepcopy(_example("disaster", "single-person-large-scale-half"))
    example["household"]["members"] = [{"name": "佐藤 花子", "name_kana": None,
                                        "birthdate": "1948-02-11", "gender": None,
                                        "relationship": "世帯主"}]
    event = catalog.life_event("disaster", municipality=CHIYODA)
    found = prefill_values(event.definition, _bindings(event.definition, example, CHIYODA))
    members, source = found["/household_members"]
    assert (members, source) == ([{"name": "佐藤 花子", "birthdate": "1948-02-11",
                                   "relationship": "世帯主"}], "registry")
    answers = {**example["answers"], "household_members": members}
    assert validate_answers(event, PLACES[CHIYODA], answers).valid


# ---------------------------------------------------------------- おくやみ (bereavement)

@pytest.mark.parametrize(("name", "offered"), [
    ("spouse-nhi-ltc-funeral", ["nhi-loss-of-eligibility", "ltc-loss-of-eligibility",
                                "funeral-expenses", "elderly-welfare-services-end"]),
    ("son-employee-insurance", []),  # 58, employee insurance, not certified, no services
    ("daughter-not-the-host", ["nhi-loss-of-eligibility"]),  # she did not hold the funeral
])
def test_chiyoda_offers_what_the_death_calls_for(catalog, name, offered):
    assert _offers(catalog, "bereavement", _example("bereavement", name), CHIYODA) == offered


def test_the_standard_bereavement_leaves_out_chiyodas_own_notice(catalog):
    example = _example("bereavement", "spouse-nhi-ltc-funeral")
    assert _offers(catalog, "bereavement", example, YOKOHAMA) == example["offered"]


def test_the_widow_files_every_notice_and_the_funeral_expenses_after_the_nhi_one(catalog):
    example = _example("bereavement", "spouse-nhi-ltc-funeral")
    today = example["today"]
    nhi = _filed(catalog, "bereavement", example, CHIYODA, "nhi-loss-of-eligibility")
    assert nhi["deceased"]["nhi"] == {"symbol_number": "千代田-123456"}
    assert _computed(catalog, "nhi-loss-of-eligibility", nhi, CHIYODA, today)["loss"] == {
        "date": "2026-09-21"}  # 資格喪失日: the day after the death
    ltc = _filed(catalog, "bereavement", example, CHIYODA, "ltc-loss-of-eligibility")
    assert ltc["deceased"]["ltc"]["certified"] is True
    services = _filed(catalog, "bereavement", example, CHIYODA, "elderly-welfare-services-end")
    assert services["services"] == ["meals", "emergency_alarm"]
    accepted = {"status": "completed", "data": nhi, "steps": {}, "computed": {},
                "documents": [{"type": "application-copy"}, {"type": "acceptance"}]}
    funeral = _filed(catalog, "bereavement", example, CHIYODA, "funeral-expenses", accepted)
    assert funeral["bank_account"] == example["answers"]["bank_account"]
    assert funeral["deceased"] == nhi["deceased"]
    assert _computed(catalog, "funeral-expenses", funeral, CHIYODA, today)["payment"] == {
        "amount": 50_000}
    definition = catalog.life_event("bereavement", municipality=CHIYODA).definition
    after = definition.offered("funeral-expenses").after
    assert (after.procedure, after.on) == ("nhi-loss-of-eligibility", "completed")


def test_ltc_is_offered_under_65_only_when_certified(catalog):
    example = copy.deepcopy(_example("bereavement", "son-employee-insurance"))
    assert "ltc-loss-of-eligibility" not in _offers(catalog, "bereavement", example, CHIYODA)
    example["answers"]["deceased"]["ltc"]["certified"] = True
    assert "ltc-loss-of-eligibility" in _offers(catalog, "bereavement", example, CHIYODA)

