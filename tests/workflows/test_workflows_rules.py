"""The permission and state matrix of a case (``workflows.rules``), as pure functions.

Every rule is checked from both sides: allowed, and refused with its exact ``code`` and
``kind``. Definitions come from the real catalogue and, where a rule reads more clearly in
isolation, from small hand-built ``ProcedureDefinition``s. ``available_actions`` must agree
with ``check_action`` (the button a caseworker sees and the workflow's refusal are one rule).
"""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from forms.catalog import Catalog
from forms.definition import ProcedureDefinition
from workflows.models import (
    TERMINAL,
    ActionRequest,
    Actor,
    ApplicationView,
    DocumentRef,
    Revocation,
    RevocationRequest,
    Status,
)
from workflows.rules import (
    APPLICANT_ACTIONS,
    Refusal,
    available_actions,
    check_action,
    check_revocation,
)

CITY = "131016"
OTHER_CITY = "141003"
KEY = "applicant-key"
STATUSES: tuple[str, ...] = get_args(Status)
SOMETHING = {"value": 1}


@functools.cache
def _catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    loaded = _catalog()
    assert loaded.problems == []
    return loaded


@pytest.fixture(scope="module")
def disaster(catalog: Catalog) -> ProcedureDefinition:
    return catalog.get("disaster-certificate").definition


@pytest.fixture(scope="module")
def grant(catalog: Catalog) -> ProcedureDefinition:
    return catalog.get("sme-telework-grant").definition


def _text(text: str) -> dict[str, str]:
    return {"ja": text, "en": text}


def _hand_built(**stage_overrides: Any) -> ProcedureDefinition:
    """A two-stage procedure whose every action shows one rule, nothing else."""
    check = {
        "id": "check", "title": _text("check"), "role": "checker",
        "actions": [
            {"id": "plain", "title": _text("plain"), "to": "sign"},
            {"id": "why", "title": _text("why"), "outcome": "rejected",
             "comment_required": True},
            {"id": "measure", "title": _text("measure"), "to": "sign",
             "input_schema": "measure.schema.json"},
        ],
    }
    check.update(stage_overrides)
    return ProcedureDefinition.model_validate({
        "id": "rules-probe", "version": "1.0.0", "title": _text("probe"),
        "processing_period": {"days": 10, "remind_before_days": 2},
        "correction": {"deadline_days": 7},
        "stages": [
            check,
            {"id": "sign", "title": _text("sign"), "role": "signer", "actions": [
                {"id": "sign", "title": _text("sign"), "outcome": "completed",
                 "distinct_from": ["plain", "measure"]},
            ]},
            {"id": "report", "title": _text("report"), "actor": "applicant", "actions": [
                {"id": "report", "title": _text("report"), "to": "sign",
                 "input_schema": "report.schema.json"},
                {"id": "explain", "title": _text("explain"), "to": "sign",
                 "comment_required": True},
            ]},
        ],
    })


def view(
    definition: ProcedureDefinition, stage: str, status: str = "in_progress", *,
    actors: dict[str, str] | None = None, municipality: str = CITY,
) -> ApplicationView:
    now = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
    return ApplicationView(
        application_id="app-1", procedure=definition.id, procedure_version=definition.version,
        municipality=municipality, applicant_key=KEY, applicant_name=None, status=status,
        stage=stage, assignee=None, submitted_at=now, due_at=None, correction_due_at=None,
        correction_comment=None, data={}, step_data={}, computed={}, actors=actors or {},
        timeline=[], documents=[], escalated=False,
    )


def caseworker(*roles: str, subject: str = "cw-1", municipalities: tuple[str, ...] = (CITY,)
               ) -> Actor:
    return Actor(kind="caseworker", subject=subject, municipalities=list(municipalities),
                 roles=list(roles))


def applicant(kind: str = "resident", key: str | None = KEY) -> Actor:
    return Actor(kind=kind, subject="resident-subject", applicant_key=key)


def ask(action: str, actor: Actor, comment: str | None = None,
        data: dict[str, Any] | None = None) -> ActionRequest:
    return ActionRequest(action=action, actor=actor, comment=comment, data=data)


def assert_refused(refusal: Refusal | None, code: str, kind: str) -> None:
    assert refusal is not None, f"expected {code}, but the action was allowed"
    assert (refusal.code, refusal.kind) == (code, kind), refusal
    assert set(refusal.message) == {"ja", "en"}
    assert all(text.strip() for text in refusal.message.values())


# --- caseworker stage actions ------------------------------------------------------------


def test_caseworker_with_role_of_the_municipality_may_act(disaster):
    assert check_action(disaster, view(disaster, "intake"), ask("accept", caseworker("reviewer"))
                        ) is None
    assert check_action(disaster, view(disaster, "survey"),
                        ask("survey", caseworker("surveyor"), data={"damage_ratio": 30})) is None


@pytest.mark.parametrize("actor", [applicant(), applicant("business"), applicant(key="other")])
def test_only_a_caseworker_takes_a_caseworker_stage_action(disaster, actor):
    assert_refused(check_action(disaster, view(disaster, "intake"), ask("accept", actor)),
                   "caseworker_only", "forbidden")


@pytest.mark.parametrize("municipalities", [(OTHER_CITY,), ()])
def test_a_caseworker_of_another_municipality_is_refused(disaster, municipalities):
    actor = caseworker("reviewer", municipalities=municipalities)
    assert_refused(check_action(disaster, view(disaster, "intake"), ask("accept", actor)),
                   "wrong_municipality", "forbidden")


def test_a_caseworker_of_several_municipalities_may_act_in_each(disaster):
    actor = caseworker("reviewer", municipalities=(OTHER_CITY, CITY))
    for city in (CITY, OTHER_CITY):
        assert check_action(disaster, view(disaster, "intake", municipality=city),
                            ask("accept", actor)) is None


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_a_closed_case_takes_no_caseworker_action(disaster, status):
    assert_refused(check_action(disaster, view(disaster, "intake", status),
                                ask("accept", caseworker("reviewer"))), "case_closed", "conflict")


def test_another_municipality_learns_nothing_of_the_state_of_a_case(disaster):
    """The forbidden answer comes before any conflict, which would tell the case's state."""
    outsider = caseworker("reviewer", municipalities=(OTHER_CITY,))
    for status in STATUSES:
        assert_refused(check_action(disaster, view(disaster, "intake", status),
                                    ask("accept", outsider)), "wrong_municipality", "forbidden")


@pytest.mark.parametrize("action", ["accept", "claim", "reject", "request_correction"])
def test_no_caseworker_action_while_a_correction_is_awaited(disaster, action):
    request = ask(action, caseworker("reviewer"), comment="理由", data=SOMETHING)
    assert_refused(check_action(disaster, view(disaster, "intake", "awaiting_correction"), request),
                   "awaiting_correction", "conflict")


@pytest.mark.parametrize("action", ["approve", "return"])
def test_no_caseworker_action_while_documents_are_issued(disaster, action):
    request = ask(action, caseworker("approver", subject="cw-2"), comment="理由")
    assert_refused(check_action(disaster, view(disaster, "approval", "issuing"), request),
                   "issuing", "conflict")


@pytest.mark.parametrize(("stage", "action"), [
    ("intake", "approve"),  # an action of a later stage
    ("intake", "survey"),
    ("approval", "claim"),  # approval has no claim
    ("intake", "no_such_action"),
    ("no_such_stage", "accept"),  # a stage the pinned definition does not know
])
def test_an_action_not_offered_by_the_stage_is_not_available(disaster, stage, action):
    actor = caseworker("reviewer", "surveyor", "approver")
    assert_refused(check_action(disaster, view(disaster, stage),
                                ask(action, actor, comment="理由", data=SOMETHING)),
                   "not_available", "conflict")


@pytest.mark.parametrize(("stage", "action", "role"), [
    ("intake", "accept", "reviewer"),
    ("survey", "survey", "surveyor"),
    ("approval", "approve", "approver"),
])
def test_the_stage_role_is_required(disaster, stage, action, role):
    others = caseworker(*({"reviewer", "surveyor", "approver", "admin"} - {role}))
    request = ask(action, others, data=SOMETHING)
    refusal = check_action(disaster, view(disaster, stage), request)
    assert_refused(refusal, "role_required", "forbidden")
    assert role in refusal.message["en"] and role in refusal.message["ja"]
    assert check_action(disaster, view(disaster, stage), ask(action, caseworker(role),
                                                             data=SOMETHING)) is None


@pytest.mark.parametrize("comment", [None, "", "   ", "\n\t"])
def test_a_comment_is_required_where_the_action_says_so(comment):
    definition = _hand_built()
    assert_refused(check_action(definition, view(definition, "check"),
                                ask("why", caseworker("checker"), comment=comment)),
                   "comment_required", "invalid")
    # the action that needs no comment takes none
    assert check_action(definition, view(definition, "check"),
                        ask("plain", caseworker("checker"), comment=comment)) is None


def test_a_comment_given_satisfies_the_rule(disaster):
    definition = _hand_built()
    assert check_action(definition, view(definition, "check"),
                        ask("why", caseworker("checker"), comment=" 書類不備 ")) is None
    assert_refused(check_action(disaster, view(disaster, "intake"),
                                ask("reject", caseworker("reviewer"))),
                   "comment_required", "invalid")
    assert check_action(disaster, view(disaster, "intake"),
                        ask("reject", caseworker("reviewer"), comment="対象外")) is None


def test_data_is_required_by_an_action_with_an_input_schema(disaster):
    definition = _hand_built()
    assert_refused(check_action(definition, view(definition, "check"),
                                ask("measure", caseworker("checker"))), "data_required", "invalid")
    assert check_action(definition, view(definition, "check"),
                        ask("measure", caseworker("checker"), data=SOMETHING)) is None
    assert_refused(check_action(disaster, view(disaster, "survey"),
                                ask("survey", caseworker("surveyor"))), "data_required", "invalid")


def test_four_eyes_refuses_who_took_an_earlier_action(disaster):
    surveyed_by_1 = view(disaster, "approval", actors={"survey": "cw-1", "accept": "cw-0"})
    same = caseworker("approver", "surveyor", subject="cw-1")
    assert_refused(check_action(disaster, surveyed_by_1, ask("approve", same)),
                   "four_eyes", "forbidden")
    other = caseworker("approver", subject="cw-2")
    assert check_action(disaster, surveyed_by_1, ask("approve", other)) is None
    # who accepted may approve: only the survey is named in distinct_from
    assert check_action(disaster, surveyed_by_1,
                        ask("approve", caseworker("approver", subject="cw-0"))) is None
    # an action without distinct_from lets the surveyor return the case
    assert check_action(disaster, surveyed_by_1, ask("return", same, comment="再調査")) is None


def test_four_eyes_of_the_grant_separates_acceptance_from_decision(grant):
    accepted_by_1 = view(grant, "decision", actors={"accept": "cw-1"})
    assert_refused(check_action(grant, accepted_by_1,
                                ask("decide_grant", caseworker("approver", subject="cw-1"))),
                   "four_eyes", "forbidden")
    assert check_action(grant, accepted_by_1,
                        ask("decide_grant", caseworker("approver", subject="cw-2"))) is None


@pytest.mark.parametrize("earlier", ["plain", "measure"])
def test_four_eyes_covers_every_action_named_in_distinct_from(earlier):
    definition = _hand_built()
    case = view(definition, "sign", actors={earlier: "cw-1"})
    same, other = caseworker("signer", subject="cw-1"), caseworker("signer", subject="cw-2")
    assert_refused(check_action(definition, case, ask("sign", same)), "four_eyes", "forbidden")
    assert check_action(definition, case, ask("sign", other)) is None


def test_four_eyes_is_not_triggered_before_the_earlier_action_was_taken():
    definition = _hand_built()
    assert check_action(definition, view(definition, "sign"),
                        ask("sign", caseworker("signer", subject="cw-1"))) is None


@pytest.mark.parametrize("reserved", sorted(APPLICANT_ACTIONS))
@pytest.mark.parametrize("stage", ["check", "report"])
def test_a_definition_cannot_declare_an_action_reserved_for_the_applicant(reserved, stage):
    """``check_action`` (and the workflow's ``act``) treat ``withdraw`` and
    ``submit_correction`` as the applicant's own actions before looking at the stage: a
    stage action of that id could never be taken as declared (its role, comment, outcome,
    notices and documents would be ignored, and the applicant could take it at any
    withdrawable stage). Such a definition must be refused when it is loaded."""
    raw = _hand_built().model_dump(exclude_defaults=True)
    index = [s["id"] for s in raw["stages"]].index(stage)
    raw["stages"][index]["actions"][0]["id"] = reserved
    with pytest.raises(ValidationError, match=reserved):
        ProcedureDefinition.model_validate(raw)


# --- applicant actions ---------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "status"), [
    ("intake", "in_progress"), ("survey", "in_progress"), ("approval", "in_progress"),
    ("intake", "awaiting_correction"),
])
def test_the_applicant_may_withdraw_at_a_withdrawable_stage(disaster, stage, status):
    assert check_action(disaster, view(disaster, stage, status), ask("withdraw", applicant())
                        ) is None


def test_a_business_applicant_may_withdraw_a_grant_application(grant):
    for stage, status in [("review", "in_progress"), ("report", "awaiting_applicant")]:
        assert check_action(grant, view(grant, stage, status),
                            ask("withdraw", applicant("business"))) is None


def test_no_withdrawal_at_a_stage_that_is_not_withdrawable(disaster):
    """罹災証明書: once issued, the certificate stands; only a re-survey can be asked."""
    assert_refused(check_action(disaster, view(disaster, "issued", "awaiting_applicant"),
                                ask("withdraw", applicant())), "not_withdrawable", "conflict")
    definition = _hand_built(withdrawable=False)
    assert_refused(check_action(definition, view(definition, "check"),
                                ask("withdraw", applicant())), "not_withdrawable", "conflict")
    assert check_action(definition, view(definition, "sign"), ask("withdraw", applicant())) is None


@pytest.mark.parametrize("stage", ["approval", "issued"])
def test_no_withdrawal_while_documents_are_issued(disaster, stage):
    assert_refused(check_action(disaster, view(disaster, stage, "issuing"),
                                ask("withdraw", applicant())), "issuing", "conflict")


@pytest.mark.parametrize(("action", "status"), list(itertools.product(
    sorted(APPLICANT_ACTIONS), sorted(TERMINAL))))
def test_a_closed_case_takes_no_applicant_action(disaster, action, status):
    assert_refused(check_action(disaster, view(disaster, "intake", status),
                                ask(action, applicant(), data=SOMETHING)),
                   "case_closed", "conflict")


@pytest.mark.parametrize("action", sorted(APPLICANT_ACTIONS))
@pytest.mark.parametrize("actor", [
    caseworker("reviewer", "surveyor", "approver"),  # even with every role
    applicant(key="someone-else"),
    applicant(key=None),
    Actor(kind="caseworker", subject="cw-9", applicant_key=KEY, municipalities=[CITY]),
])
def test_applicant_actions_are_for_the_applicant_only(disaster, action, actor):
    for status in ("in_progress", "awaiting_correction"):
        assert_refused(check_action(disaster, view(disaster, "intake", status),
                                    ask(action, actor, data=SOMETHING)),
                       "applicant_only", "forbidden")


def test_a_stranger_learns_nothing_of_the_state_of_a_case(disaster):
    for status in STATUSES:
        assert_refused(check_action(disaster, view(disaster, "intake", status),
                                    ask("withdraw", applicant(key="someone-else"))),
                       "applicant_only", "forbidden")


@pytest.mark.parametrize("status", ["in_progress", "issuing", "awaiting_applicant"])
def test_no_correction_unless_one_was_requested(disaster, status):
    assert_refused(check_action(disaster, view(disaster, "intake", status),
                                ask("submit_correction", applicant(), data=SOMETHING)),
                   "no_correction_requested", "conflict")


@pytest.mark.parametrize("data", [None, {}])
def test_a_correction_carries_the_corrected_data(disaster, data):
    awaiting = view(disaster, "intake", "awaiting_correction")
    bare = ask("submit_correction", applicant(), data=data)
    assert_refused(check_action(disaster, awaiting, bare), "data_required", "invalid")
    assert check_action(disaster, awaiting, ask("submit_correction", applicant(), data=SOMETHING)
                        ) is None


def test_applicant_actions_need_no_role_or_municipality(grant):
    awaiting = view(grant, "inspection", "awaiting_correction", municipality="999999")
    assert check_action(grant, awaiting,
                        ask("submit_correction", applicant("business"), data=SOMETHING)) is None


# --- applicant stages ----------------------------------------------------------------------


def test_the_grant_report_is_filed_by_the_applicant(grant):
    """実績報告: the applicant's turn, with data."""
    report = view(grant, "report", "awaiting_applicant")
    assert check_action(grant, report, ask("submit_report", applicant("business"), data=SOMETHING)
                        ) is None
    assert_refused(check_action(grant, report, ask("submit_report", applicant("business"))),
                   "data_required", "invalid")


def test_a_resurvey_request_needs_a_reason(disaster):
    issued = view(disaster, "issued", "awaiting_applicant")
    assert_refused(check_action(disaster, issued, ask("request_resurvey", applicant())),
                   "comment_required", "invalid")
    reasoned = ask("request_resurvey", applicant(), comment="被害を見落としています")
    assert check_action(disaster, issued, reasoned) is None


@pytest.mark.parametrize("status", ["in_progress", "awaiting_correction", "issuing"])
def test_an_applicant_stage_acts_only_while_awaiting_the_applicant(grant, status):
    assert_refused(check_action(grant, view(grant, "report", status),
                                ask("submit_report", applicant("business"), data=SOMETHING)),
                   "not_available", "conflict")


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_a_closed_case_takes_no_applicant_stage_action(grant, status):
    assert_refused(check_action(grant, view(grant, "report", status),
                                ask("submit_report", applicant("business"), data=SOMETHING)),
                   "case_closed", "conflict")


@pytest.mark.parametrize("actor", [
    caseworker("reviewer", "approver"), applicant("business", key="another-company"),
    applicant(key=None),
])
def test_an_applicant_stage_is_for_the_applicant_only(grant, actor):
    report = view(grant, "report", "awaiting_applicant")
    for action in ("submit_report", "confirm_amount", "decide_grant"):
        assert_refused(check_action(grant, report, ask(action, actor, data=SOMETHING)),
                       "applicant_only", "forbidden")


@pytest.mark.parametrize("action", ["confirm_amount", "request_resurvey", "nothing"])
def test_an_applicant_stage_offers_only_its_own_actions(grant, action):
    assert_refused(check_action(grant, view(grant, "report", "awaiting_applicant"),
                                ask(action, applicant("business"), comment="x", data=SOMETHING)),
                   "not_available", "conflict")


def test_hand_built_applicant_stage_checks_comment_and_data():
    definition = _hand_built()
    report = view(definition, "report", "awaiting_applicant")
    assert_refused(check_action(definition, report, ask("report", applicant())),
                   "data_required", "invalid")
    assert_refused(check_action(definition, report, ask("explain", applicant(), comment=" ")),
                   "comment_required", "invalid")
    assert check_action(definition, report, ask("report", applicant(), data=SOMETHING)) is None
    assert check_action(definition, report, ask("explain", applicant(), comment="遅延理由")) is None


# --- available actions ---------------------------------------------------------------------


@pytest.mark.parametrize(("procedure", "stage", "status", "actor", "expected"), [
    ("disaster-certificate", "intake", "in_progress", caseworker("reviewer"),
     ["accept", "claim", "reject", "request_correction"]),
    ("disaster-certificate", "intake", "in_progress", caseworker("surveyor"), []),
    ("disaster-certificate", "intake", "in_progress",
     caseworker("reviewer", municipalities=(OTHER_CITY,)), []),
    ("disaster-certificate", "intake", "in_progress", applicant(), ["withdraw"]),
    ("disaster-certificate", "intake", "awaiting_correction", applicant(),
     ["submit_correction", "withdraw"]),
    ("disaster-certificate", "intake", "awaiting_correction", caseworker("reviewer"), []),
    ("disaster-certificate", "survey", "in_progress", caseworker("surveyor"),
     ["claim", "reject", "survey"]),
    ("disaster-certificate", "approval", "in_progress", caseworker("approver"),
     ["approve", "return"]),
    ("disaster-certificate", "approval", "issuing", caseworker("approver"), []),
    ("disaster-certificate", "approval", "issuing", applicant(), []),
    ("disaster-certificate", "issued", "awaiting_applicant", applicant(), ["request_resurvey"]),
    ("disaster-certificate", "issued", "awaiting_applicant", caseworker("approver"), []),
    ("disaster-certificate", "issued", "completed", applicant(), []),
    ("sme-telework-grant", "report", "awaiting_applicant", applicant("business"),
     ["submit_report", "withdraw"]),
    ("sme-telework-grant", "inspection", "in_progress", caseworker("reviewer"),
     ["claim", "confirm_amount", "request_correction"]),
    ("childcare-status", "review", "rejected", caseworker("reviewer"), []),
])
def test_available_actions_of_typical_cases(catalog, procedure, stage, status, actor, expected):
    definition = catalog.get(procedure).definition
    assert available_actions(definition, view(definition, stage, status), actor) == expected


def test_available_actions_leave_out_what_four_eyes_forbids(disaster):
    case = view(disaster, "approval", actors={"survey": "cw-1"})
    assert available_actions(disaster, case, caseworker("approver", subject="cw-1")) == ["return"]
    assert available_actions(disaster, case, caseworker("approver", subject="cw-2")) == [
        "approve", "return"]


def _actors() -> list[Actor]:
    every_role = ("reviewer", "surveyor", "approver", "checker", "signer")
    return [
        applicant(), applicant("business"), applicant(key="someone-else"), applicant(key=None),
        caseworker(*every_role, subject="cw-1"), caseworker(*every_role, subject="cw-2"),
        caseworker("reviewer"), caseworker("approver", subject="cw-2"),
        caseworker(*every_role, municipalities=(OTHER_CITY,)),
    ]


def _definitions(catalog: Catalog) -> list[ProcedureDefinition]:
    return [p.definition for p in catalog.procedures()] + [
        _hand_built(), _hand_built(withdrawable=False)]


def _assert_agrees(definition: ProcedureDefinition, case: ApplicationView, actor: Actor) -> None:
    offered = available_actions(definition, case, actor)
    stage = definition.stage(case.stage)
    candidates = set(APPLICANT_ACTIONS) | {a.id for a in (stage.actions if stage else [])}
    assert set(offered) <= candidates
    assert offered == sorted(set(offered))
    for name in sorted(candidates):
        # the caller adds what the action needs: a reason, the input data
        complete = ask(name, actor, comment="理由", data=SOMETHING)
        refusal = check_action(definition, case, complete)
        assert (name in offered) == (refusal is None), (case.stage, case.status, actor, name,
                                                        refusal)
        if refusal is not None:
            # what keeps an action off the list is never input the caller could add
            assert refusal.code not in {"comment_required", "data_required"}
        else:
            # offered actions are refused for missing input only, never for who or when
            for bare in (ask(name, actor), ask(name, actor, comment="", data={})):
                missing = check_action(definition, case, bare)
                assert missing is None or missing.kind == "invalid", (name, missing)


def test_available_actions_agree_with_check_action_everywhere(catalog):
    """Every procedure × stage (and an unknown one) × status × kind of actor × candidate."""
    checked = 0
    for definition in _definitions(catalog):
        actions = [a.id for s in definition.stages for a in s.actions]
        for stage_id in [s.id for s in definition.stages] + ["gone"]:
            for status in STATUSES:
                for took in (None, "cw-1"):
                    actors = {a: took for a in actions} if took else {}
                    case = view(definition, stage_id, status, actors=actors)
                    for actor in _actors():
                        _assert_agrees(definition, case, actor)
                        checked += 1
    assert checked > 1000


@functools.cache
def _all_definitions() -> list[ProcedureDefinition]:
    return _definitions(_catalog())


@st.composite
def _situations(draw: st.DrawFn) -> tuple[ProcedureDefinition, ApplicationView, Actor, str]:
    definition = draw(st.sampled_from(_all_definitions()))
    action_ids = sorted({a.id for s in definition.stages for a in s.actions})
    stage = draw(st.sampled_from([s.id for s in definition.stages] + ["gone"]))
    subjects = st.sampled_from(["cw-1", "cw-2", "cw-3"])
    actors = draw(st.dictionaries(st.sampled_from(action_ids), subjects, max_size=4))
    case = view(definition, stage, draw(st.sampled_from(STATUSES)), actors=actors,
                municipality=draw(st.sampled_from([CITY, OTHER_CITY])))
    roles = sorted({s.role for s in definition.stages if s.role} | {"admin"})
    kind = draw(st.sampled_from(["resident", "business", "caseworker"]))
    actor = Actor(
        kind=kind, subject=draw(subjects),
        applicant_key=draw(st.sampled_from([KEY, "someone-else", None])),
        municipalities=draw(st.lists(st.sampled_from([CITY, OTHER_CITY]), unique=True)),
        roles=draw(st.lists(st.sampled_from(roles), unique=True)),
    )
    name = draw(st.sampled_from(action_ids + sorted(APPLICANT_ACTIONS) + ["unknown"]))
    return definition, case, actor, name


@settings(max_examples=300, deadline=None)
@given(situation=_situations(), comment=st.sampled_from([None, "", " ", "理由"]),
       data=st.sampled_from([None, {}, SOMETHING]))
def test_property_nothing_allowed_is_hidden_and_nothing_offered_is_refused(situation, comment,
                                                                           data):
    definition, case, actor, name = situation
    offered = available_actions(definition, case, actor)
    refusal = check_action(definition, case, ask(name, actor, comment=comment, data=data))
    if refusal is None:
        assert name in offered
    if name in offered:
        assert refusal is None or refusal.kind == "invalid"
        assert check_action(definition, case, ask(name, actor, comment="理由", data=SOMETHING)
                            ) is None


# --- revocation of an issued document (issue #15: a role and a second person) ---------------


def _issued(definition: ProcedureDefinition, *revocations: Revocation) -> ApplicationView:
    issued = view(definition, "completed", "completed").model_copy(update={
        "documents": [DocumentRef(id="DOC-1", type="certificate", title=_text("証明書"),
                                  filename="c.pdf", sha256="0" * 64)],
        "revocations": list(revocations),
    })
    return issued


def _asked(by: str = "cw-1", confirmed_by: str | None = None) -> Revocation:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    return Revocation(document_id="DOC-1", reason="誤記", requested_by=by, requested_at=at,
                      confirmed_by=confirmed_by, confirmed_at=at if confirmed_by else None)


def _revoke(actor: Actor, confirm: bool = False, reason: str | None = "誤記",
            document: str = "DOC-1") -> RevocationRequest:
    return RevocationRequest(document_id=document, actor=actor, reason=reason, confirm=confirm)


def test_a_caseworker_with_the_declared_role_asks_and_another_confirms(disaster):
    assert disaster.revocation.role == "approver"
    assert check_revocation(disaster, _issued(disaster), _revoke(caseworker("approver"))) is None
    pending = _issued(disaster, _asked("cw-1"))
    confirm = _revoke(caseworker("approver", subject="cw-2"), confirm=True, reason=None)
    assert check_revocation(disaster, pending, confirm) is None


@pytest.mark.parametrize(("actor", "code"), [
    (applicant(), "caseworker_only"),
    (caseworker("approver", municipalities=(OTHER_CITY,)), "wrong_municipality"),
    (caseworker("reviewer", "surveyor"), "role_required"),
])
def test_who_may_not_revoke(disaster, actor, code):
    assert_refused(check_revocation(disaster, _issued(disaster), _revoke(actor)), code,
                   "forbidden")


def test_the_one_who_asked_cannot_confirm(disaster):
    pending = _issued(disaster, _asked("cw-1"))
    refusal = check_revocation(disaster, pending,
                               _revoke(caseworker("approver"), confirm=True))
    assert_refused(refusal, "four_eyes", "forbidden")


@pytest.mark.parametrize(("revocations", "request_", "code", "kind"), [
    ((), _revoke(caseworker("approver"), reason=" "), "reason_required", "invalid"),
    ((), _revoke(caseworker("approver"), document="DOC-X"), "unknown_document", "invalid"),
    ((), _revoke(caseworker("approver", subject="cw-2"), confirm=True),
     "no_revocation_requested", "conflict"),
    ((_asked(),), _revoke(caseworker("approver", subject="cw-2")), "revocation_pending",
     "conflict"),
    ((_asked(confirmed_by="cw-2"),), _revoke(caseworker("approver", subject="cw-3")),
     "already_revoked", "conflict"),
    ((_asked(confirmed_by="cw-2"),), _revoke(caseworker("approver", subject="cw-3"),
                                             confirm=True), "already_revoked", "conflict"),
])
def test_revocation_refusals(disaster, revocations, request_, code, kind):
    assert_refused(check_revocation(disaster, _issued(disaster, *revocations), request_),
                   code, kind)


def test_a_copy_of_the_filing_is_never_revoked(disaster):
    """The 申請控え is the resident's proof of what was filed: a correction supersedes it."""
    assert "application-copy" in disaster.issue_on_submit
    copy = DocumentRef(id="DOC-C", type="application-copy", title=_text("申請控え"),
                       filename="copy.pdf", sha256="1" * 64)
    case = _issued(disaster)
    case = case.model_copy(update={"documents": [*case.documents, copy]})
    assert_refused(check_revocation(disaster, case, _revoke(caseworker("approver"),
                                                            document="DOC-C")),
                   "copy_not_revocable", "conflict")
    assert check_revocation(disaster, case, _revoke(caseworker("approver"))) is None


def test_a_caseworker_is_not_offered_to_claim_a_case_they_hold(disaster):
    reviewer = caseworker("reviewer", subject="cw-1")
    open_case = view(disaster, "intake")
    assert "claim" in available_actions(disaster, open_case, reviewer)
    held = open_case.model_copy(update={"assignee": "cw-1"})
    assert "claim" not in available_actions(disaster, held, reviewer)
    other = caseworker("reviewer", subject="cw-2")
    assert "claim" in available_actions(disaster, held, other)  # taking it over stays possible
