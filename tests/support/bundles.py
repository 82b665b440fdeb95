"""A small disaster life event over the catalogue's procedures, for tests of the bundle's
workflow (the catalogue's real life events are H-catalogue's data), and the caseworker
steps that drive its cases.

``disaster-certificate`` and ``disaster-condolence-money`` are filed at once; the
``livelihood-recovery-support`` waits for the certificate and is filed, with the grade the
survey computed and the household and account as the registry has them now, when that
grade qualifies.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from forms.catalog import Catalog
from forms.lifeevents import LifeEventDefinition
from workflows.life_event import LifeEventWorkflow
from workflows.models import (
    ActionRequest,
    Actor,
    Applicant,
    BundleMemberStart,
    StartBundle,
)
from workflows.procedure import ProcedureWorkflow

MUNICIPALITY = "131016"
#: 山田 太郎 in the development registry: a household of three, with a 公金受取口座.
PERSON = "RR-131016-0001"
APPLICANT_KEY = "applicant-key-of-yamada"

SURVEYOR = Actor(kind="caseworker", subject="cw-survey", municipalities=[MUNICIPALITY],
                 roles=["reviewer", "surveyor", "approver"])
APPROVER = Actor(kind="caseworker", subject="cw-approve", municipalities=[MUNICIPALITY],
                 roles=["approver"])
RESIDENT = Actor(kind="resident", subject="demo-1", applicant_key=APPLICANT_KEY)

ACCOUNT_FORM = {f"/bank_account/{k}": f"account.{k}"
                for k in ("bank_code", "branch_code", "account_type", "account_number",
                          "holder_kana")}


def example(catalog: Catalog, procedure: str, name: str) -> dict[str, Any]:
    directory = catalog.get(procedure).directory / "examples"
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


def definition(on_change: str = "amend", form: dict[str, str] | None = None,
               ) -> LifeEventDefinition:
    return LifeEventDefinition.model_validate({
        "id": "test-disaster", "version": "1.0.0",
        "title": {"ja": "被災した（試験）", "en": "Hit by a disaster (test)"},
        "summary": {"ja": "試験", "en": "Test"},
        "event_field": "/disaster_event",
        "params": {"qualifying": ["total", "demolished", "long_term_evacuation",
                                  "large_scale_half", "medium_scale_half"]},
        "procedures": [
            {"procedure": "disaster-certificate", "required": True,
             "reason": {"ja": "被害の証明", "en": "Proves the damage"},
             "not_eligible": {"ja": "-", "en": "-"}, "form": {"/disaster_event":
                                                              "data.disaster_event"}},
            {"procedure": "disaster-condolence-money",
             "reason": {"ja": "見舞金", "en": "Condolence money"},
             "not_eligible": {"ja": "-", "en": "-"}, "form": {"/disaster_event":
                                                              "data.disaster_event"}},
            {"procedure": "livelihood-recovery-support",
             "reason": {"ja": "再建支援", "en": "Recovery support"},
             "not_eligible": {"ja": "-", "en": "-"},
             "form": {"/disaster_event": "data.disaster_event",
                      "/applicant": "data.applicant",
                      "/property/address": "data.property.address",
                      "/damage_grade": "case.computed.damage_grade.code",
                      "/household_size": "household.size",
                      "/rebuilding_plan": "data.rebuilding_plan",
                      **ACCOUNT_FORM, **(form or {})},
             "after": {"procedure": "disaster-certificate", "on": "document:certificate",
                       "when": "case.computed.damage_grade.code in params.qualifying",
                       "not_filed": {"ja": "被害の程度が支給の対象になりませんでした。",
                                     "en": "The damage grade does not qualify."},
                       "on_change": on_change}},
        ],
    })


def answers(catalog: Catalog) -> dict[str, Any]:
    certificate = example(catalog, "disaster-certificate", "valid-basic")
    return {"disaster_event": certificate["disaster_event"],
            "applicant": {**certificate["applicant"], "birth_date": "1975-04-10"},
            "property": certificate["property"], "damage": certificate["damage"],
            "rebuilding_plan": "build_or_buy"}


def start_bundle(catalog: Catalog, *, on_change: str = "amend", condolence: bool = True,
                 registry_person: str | None = PERSON,
                 form: dict[str, str] | None = None) -> StartBundle:
    """``form``: pointers of the support grant's form mapped otherwise (a defect, say)."""
    life_event = definition(on_change, form)
    pinned = {p: catalog.get(p, municipality=MUNICIPALITY).definition
              for p in ("disaster-certificate", "disaster-condolence-money",
                        "livelihood-recovery-support")}
    titles = {p: d.title.model_dump() for p, d in pinned.items()}
    members = [
        BundleMemberStart(procedure="disaster-certificate", title=titles["disaster-certificate"],
                          state="filed", definition=pinned["disaster-certificate"],
                          data=example(catalog, "disaster-certificate", "valid-basic"),
                          provenance={"/applicant/name": "card"}),
        BundleMemberStart(procedure="disaster-condolence-money",
                          title=titles["disaster-condolence-money"],
                          state="filed" if condolence else "not_selected",
                          definition=pinned["disaster-condolence-money"] if condolence else None,
                          data=(example(catalog, "disaster-condolence-money", "valid-total")
                                if condolence else None)),
        BundleMemberStart(procedure="livelihood-recovery-support",
                          title=titles["livelihood-recovery-support"], state="waiting",
                          definition=pinned["livelihood-recovery-support"]),
    ]
    return StartBundle(
        bundle_id=f"lev-{uuid.uuid4().hex[:20]}", definition=life_event,
        municipality=MUNICIPALITY, applicant=Applicant(key=APPLICANT_KEY, name="山田 太郎"),
        household_key="household-key-1",
        household={"verified": True, "size": 3, "members": []},
        account={"bank_code": "0001", "branch_code": "001", "account_type": "ordinary",
                 "account_number": "0000001", "holder_kana": "ヤマダ タロウ"},
        registry_person=registry_person, applicant_claims={"kind": "resident"},
        answers=answers(catalog), provenance={"/applicant/name": "card"}, members=members,
        submitted_at=datetime.now(UTC))


async def start(client: Client, start: StartBundle, task_queue: str):
    return await client.start_workflow(LifeEventWorkflow.run, start, id=start.bundle_id,
                                       task_queue=task_queue)


async def act(client: Client, case_id: str, action: str, actor: Actor = SURVEYOR,
              data: dict[str, Any] | None = None, comment: str | None = None):
    return await client.get_workflow_handle(case_id).execute_update(
        ProcedureWorkflow.act, ActionRequest(action=action, actor=actor, data=data,
                                             comment=comment))


async def certify(client: Client, case_id: str, ratio: float) -> None:
    """The certificate's caseworker steps up to its issue, with this damage ratio."""
    await act(client, case_id, "accept")
    await survey(client, case_id, ratio)


async def survey(client: Client, case_id: str, ratio: float) -> None:
    await act(client, case_id, "survey",
              data={"damage_ratio": ratio, "surveyed_on": "2026-10-02"})
    await act(client, case_id, "approve", actor=APPROVER)
