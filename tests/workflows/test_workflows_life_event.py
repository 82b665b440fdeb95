"""LifeEventWorkflow on the dev server, with the real workers and the development registry
as a process: fan-out, dependencies on the certificate's grade, re-surveys, withdrawal and
the bundle's end (what a resident and the caseworkers do, through the workflow's messages)."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.queues import safe_id
from tests.support import bundles
from tests.support.stack import eventually
from workflows import search_attributes as sa
from workflows.life_event import LifeEventWorkflow, member_application_id
from workflows.models import Actor, BundleView, BundleWithdrawal
from workflows.procedure import ProcedureWorkflow

CERT, CONDOLENCE, SUPPORT = ("disaster-certificate", "disaster-condolence-money",
                             "livelihood-recovery-support")


@pytest.fixture
async def bundle_stack(dev_env, dev_registry, stack_on):
    async with stack_on(dev_env.client, adapters=dev_registry.adapters()) as built:
        yield built


async def _view(handle) -> BundleView:
    return await handle.query(LifeEventWorkflow.view)


async def _member(handle, procedure: str, check):
    """The bundle's member once ``check(member)`` holds."""

    async def found():
        member = next(m for m in (await _view(handle)).members if m.procedure == procedure)
        return member if check(member) else None

    return await eventually(found)


async def _case(client, case_id: str):
    return await client.get_workflow_handle(case_id).query(ProcedureWorkflow.view)


async def _started(client, case_id: str):
    """The case once the bundle has started it (None before)."""
    try:
        return await _case(client, case_id)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


def test_member_ids_are_derived_and_safe():
    bundle = "lev-abcdefghijklmnopqrstuvwxyz"
    first = member_application_id(bundle, SUPPORT)
    assert first == f"{bundle}-{SUPPORT}" and safe_id(first)
    assert member_application_id(bundle, SUPPORT, 2) == f"{first}-2"
    assert safe_id(member_application_id(bundle, SUPPORT, 12))


async def test_fan_out_files_each_procedure_once_indexed(bundle_stack, catalog):
    client = bundle_stack.client
    start = bundles.start_bundle(catalog)
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    cert_id = member_application_id(start.bundle_id, CERT)
    condolence_id = member_application_id(start.bundle_id, CONDOLENCE)
    view = await _view(handle)
    assert [(m.procedure, m.state, m.application_id) for m in view.members] == [
        (CERT, "filed", cert_id), (CONDOLENCE, "filed", condolence_id), (SUPPORT, "waiting", None)]
    waiting = view.members[2]
    assert waiting.waits_for == {"ja": "罹災証明書の交付を待っています。",
                                 "en": "Waiting for the Disaster damage certificate to be issued."}
    for case_id, procedure in ((cert_id, CERT), (condolence_id, CONDOLENCE)):
        case = await eventually(lambda cid=case_id: _started(client, cid))
        assert case.bundle_id == start.bundle_id and case.applicant_key == start.applicant.key
        attributes = (await client.get_workflow_handle(case_id).describe()
                      ).typed_search_attributes
        assert attributes.get(sa.BUNDLE) == start.bundle_id
        assert attributes.get(sa.PROCEDURE) == procedure
        assert attributes.get(sa.APPLICANT) == start.applicant.key
        assert attributes.get(sa.MUNICIPALITY) == "131016"
        assert attributes.get(sa.STATUS) == "in_progress"
        assert attributes.get(sa.DUE_AT) is not None
    certificate = await _case(client, cert_id)
    assert certificate.provenance == {"/applicant/name": "card"}
    assert certificate.data == bundles.example(catalog, CERT, "valid-basic")

    async def bundle_indexed():
        found = (await handle.describe()).typed_search_attributes
        return found if found.get(sa.STATUS) == "open" else None

    found = await eventually(bundle_indexed)
    assert found.get(sa.LIFE_EVENT) == "test-disaster"
    assert found.get(sa.EVENT_ID) == start.answers["disaster_event"]
    assert found.get(sa.BUNDLE) is None  # a bundle is not a case of a bundle

    # Visibility: exactly the two cases of this bundle, and the case queues' filter keeps
    # the bundle itself out.
    query = f"MadoBundle = '{start.bundle_id}'"

    async def counted():
        count = (await client.count_workflows(query)).count
        return count if count == 2 else None

    await eventually(counted)
    cases = [w.id async for w in client.list_workflows(
        f"WorkflowType = 'ProcedureWorkflow' AND MadoApplicant = '{start.applicant.key}' "
        f"AND {query}")]
    assert sorted(cases) == sorted([cert_id, condolence_id])

    # The same bundle again (the service's retry, the spouse's race): the server refuses.
    with pytest.raises(WorkflowAlreadyStartedError):
        await client.start_workflow(LifeEventWorkflow.run, start, id=start.bundle_id,
                                    task_queue=bundle_stack.task_queue,
                                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)


async def test_qualifying_grade_files_the_dependent_then_a_resurvey_amends_it(bundle_stack,
                                                                              catalog):
    client = bundle_stack.client
    start = bundles.start_bundle(catalog)
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    cert_id = member_application_id(start.bundle_id, CERT)
    support_id = member_application_id(start.bundle_id, SUPPORT)
    await eventually(lambda: _started(client, cert_id))
    await bundles.certify(client, cert_id, 55)  # 全壊

    member = await _member(handle, SUPPORT, lambda m: m.state == "filed")
    assert member.application_id == support_id and member.waits_for is None
    support = await eventually(lambda: _started(client, support_id))
    assert support.bundle_id == start.bundle_id
    assert support.data["damage_grade"] == "total"  # the certificate's computed grade
    assert support.data["household_size"] == 3  # the registry's household, read now
    assert support.data["bank_account"]["account_number"] == "1234567"  # the registry's
    assert support.provenance["/household_size"] == "registry"
    assert support.provenance["/bank_account/account_number"] == "account"
    assert support.provenance["/applicant/name"] == "card"  # the answer's provenance

    # The caseworker assesses: the case is in its approval stage when the re-survey comes.
    await bundles.act(client, support_id, "claim")
    await bundles.act(client, support_id, "assess")
    assert (await _case(client, support_id)).stage == "approval"
    await bundles.act(client, cert_id, "request_resurvey", actor=bundles.RESIDENT,
                      comment="2階の被害")
    await bundles.survey(client, cert_id, 45)  # 大規模半壊

    async def amended():
        case = await _case(client, support_id)
        return case if case.amendments == 1 else None

    case = await eventually(amended)
    assert case.data["damage_grade"] == "large_scale_half"
    assert case.stage == "review" and case.assignee is None and case.status == "in_progress"
    assert [e.event for e in case.timeline][-1] == "amended"
    assert case.timeline[-1].comment == "「罹災証明書の交付申請」の内容が変わりました。"
    attributes = (await client.get_workflow_handle(support_id).describe()
                  ).typed_search_attributes
    assert attributes.get(sa.STAGE) == "review"
    view = await _view(handle)
    assert [e.event for e in view.timeline if e.stage == SUPPORT] == ["filed", "amended"]
    assert next(m for m in view.members if m.procedure == SUPPORT).filings == [support_id]


async def test_a_decided_dependent_gets_a_new_decision_after_a_resurvey(bundle_stack, catalog):
    client = bundle_stack.client
    start = bundles.start_bundle(catalog, condolence=False)
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    cert_id = member_application_id(start.bundle_id, CERT)
    support_id = member_application_id(start.bundle_id, SUPPORT)
    await eventually(lambda: _started(client, cert_id))
    await bundles.certify(client, cert_id, 35)  # 中規模半壊
    await _member(handle, SUPPORT, lambda m: m.state == "filed")
    await eventually(lambda: _started(client, support_id))
    await bundles.act(client, support_id, "assess")
    await bundles.act(client, support_id, "approve", actor=bundles.APPROVER)
    await _member(handle, SUPPORT, lambda m: m.status == "completed")

    await bundles.act(client, cert_id, "request_resurvey", actor=bundles.RESIDENT,
                      comment="全壊のはずです")
    await bundles.survey(client, cert_id, 55)  # 全壊
    second = member_application_id(start.bundle_id, SUPPORT, 2)
    member = await _member(handle, SUPPORT, lambda m: m.application_id == second)
    assert member.filings == [support_id, second] and member.state == "filed"
    new = await eventually(lambda: _started(client, second))
    assert new.data["damage_grade"] == "total" and new.amendments == 0
    decided = await _case(client, support_id)
    assert decided.status == "completed" and decided.data["damage_grade"] == "medium_scale_half"
    view = await _view(handle)
    assert [e.event for e in view.timeline if e.stage == SUPPORT][-2:] == ["filed", "refiled"]


async def test_a_non_qualifying_grade_files_nothing_and_says_why(bundle_stack, catalog):
    client = bundle_stack.client
    start = bundles.start_bundle(catalog, condolence=False)
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    cert_id = member_application_id(start.bundle_id, CERT)
    await eventually(lambda: _started(client, cert_id))
    await bundles.certify(client, cert_id, 25)  # 半壊: no support
    member = await _member(handle, SUPPORT, lambda m: m.state != "waiting")
    assert member.state == "not_filed" and member.application_id is None
    assert member.reason == {"ja": "被害の程度が支給の対象になりませんでした。",
                             "en": "The damage grade does not qualify."}
    with pytest.raises(RPCError) as missing:
        await client.get_workflow_handle(
            member_application_id(start.bundle_id, SUPPORT)).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def test_a_rejected_upstream_ends_the_dependent_and_the_bundle_closes(bundle_stack,
                                                                           catalog):
    client = bundle_stack.client
    start = bundles.start_bundle(catalog)
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    cert_id = member_application_id(start.bundle_id, CERT)
    condolence_id = member_application_id(start.bundle_id, CONDOLENCE)
    await eventually(lambda: _started(client, cert_id))
    await bundles.act(client, cert_id, "reject", comment="対象外の建物です")
    member = await _member(handle, SUPPORT, lambda m: m.state != "waiting")
    assert member.state == "not_filed"
    assert member.reason["ja"] == "「罹災証明書の交付申請」が却下されたため、申請されませんでした。"
    assert (await _view(handle)).status == "open"  # the condolence money is still open

    await eventually(lambda: _started(client, condolence_id))
    await bundles.act(client, condolence_id, "withdraw", actor=bundles.RESIDENT)
    result = await handle.result()
    assert result.status == "closed"
    assert [(m.procedure, m.status) for m in result.members] == [
        (CERT, "rejected"), (CONDOLENCE, "withdrawn"), (SUPPORT, None)]
    found = (await handle.describe()).typed_search_attributes
    assert found.get(sa.STATUS) == "closed"
    # Cases outlive their bundle: both still run (their retention period).
    for case_id in (cert_id, condolence_id):
        description = await client.get_workflow_handle(case_id).describe()
        assert description.status is not None and description.status.name == "RUNNING"


async def test_a_case_goes_on_when_its_bundle_is_gone(bundle_stack, catalog):
    client = bundle_stack.client
    start = bundles.start_bundle(catalog, condolence=False)
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    cert_id = member_application_id(start.bundle_id, CERT)
    await eventually(lambda: _started(client, cert_id))
    await handle.terminate("operator ended the bundle")
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    await bundles.certify(client, cert_id, 55)

    async def issued():
        case = await _case(client, cert_id)
        return case if any(d.type == "certificate" for d in case.documents) else None

    case = await eventually(issued)
    assert case.stage == "issued" and case.status == "awaiting_applicant"
    history = await client.get_workflow_handle(cert_id).fetch_history()
    failed = [e for e in history.events
              if e.HasField("signal_external_workflow_execution_failed_event_attributes")]
    assert len(failed) == 1  # the report the ended bundle could not take


async def test_withdraw_all_only_by_the_applicant(bundle_stack, catalog):
    client = bundle_stack.client
    start = bundles.start_bundle(catalog, condolence=False)
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    other = Actor(kind="resident", subject="demo-spouse", applicant_key="someone-else")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(LifeEventWorkflow.withdraw_all,
                                    BundleWithdrawal(actor=other))
    assert refused.value.cause.type == "not_applicant"
    assert (await _view(handle)).members[2].state == "waiting"
    with pytest.raises(WorkflowUpdateFailedError) as filed:
        await handle.execute_update(LifeEventWorkflow.withdraw_all,
                                    BundleWithdrawal(actor=bundles.RESIDENT, procedure=CERT))
    assert filed.value.cause.type == "not_waiting"

    view = await handle.execute_update(LifeEventWorkflow.withdraw_all,
                                       BundleWithdrawal(actor=bundles.RESIDENT))
    assert [m.state for m in view.members] == ["filed", "not_selected", "withdrawn"]
    assert view.members[2].reason["ja"] == "申請者が取り下げました。"
    # The filed case is the service's to withdraw, with its own update; then it all ends.
    cert_id = member_application_id(start.bundle_id, CERT)
    await eventually(lambda: _started(client, cert_id))
    await bundles.act(client, cert_id, "withdraw", actor=bundles.RESIDENT)
    assert (await handle.result()).status == "closed"


async def test_registry_down_the_snapshot_stands_unverified(bundle_stack, dev_registry,
                                                            catalog):
    client = bundle_stack.client
    start = bundles.start_bundle(catalog, condolence=False)
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    cert_id = member_application_id(start.bundle_id, CERT)
    support_id = member_application_id(start.bundle_id, SUPPORT)
    await eventually(lambda: _started(client, cert_id))
    dev_registry.stop()  # both interfaces down when the dependent is prepared
    await bundles.certify(client, cert_id, 55)
    await _member(handle, SUPPORT, lambda m: m.state == "filed")
    support = await eventually(lambda: _started(client, support_id))
    assert support.data["household_size"] == 3  # the submission's snapshot
    assert support.data["bank_account"]["account_number"] == "0000001"  # the snapshot's
    assert support.provenance["/household_size"] == "unverified"
    assert support.provenance["/bank_account/account_number"] == "unverified"
    assert support.data["damage_grade"] == "total"


async def test_a_form_the_procedure_refuses_fails_the_member(bundle_stack, catalog):
    client = bundle_stack.client
    # A defect of the definition: a grade code the support grant does not know.
    start = bundles.start_bundle(catalog, condolence=False,
                                 form={"/damage_grade": "'collapsed'"})
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    cert_id = member_application_id(start.bundle_id, CERT)
    await eventually(lambda: _started(client, cert_id))
    await bundles.certify(client, cert_id, 55)
    member = await _member(handle, SUPPORT, lambda m: m.state != "waiting")
    assert member.state == "failed" and member.application_id is None
    assert member.reason["ja"].startswith("この手続きを自動で申請できませんでした。")
    failed = [e for e in (await _view(handle)).timeline if e.event == "failed"]
    assert failed and failed[0].comment == "form: dependent_filing_invalid"
    assert (await _view(handle)).status == "open"  # the certificate is still open


async def test_refile_files_anew_and_the_earlier_filing_only_adds_history(bundle_stack,
                                                                          catalog):
    client = bundle_stack.client
    start = bundles.start_bundle(catalog, on_change="refile", condolence=False)
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    cert_id = member_application_id(start.bundle_id, CERT)
    first = member_application_id(start.bundle_id, SUPPORT)
    second = member_application_id(start.bundle_id, SUPPORT, 2)
    await eventually(lambda: _started(client, cert_id))
    await bundles.certify(client, cert_id, 45)
    await _member(handle, SUPPORT, lambda m: m.state == "filed")
    await eventually(lambda: _started(client, first))
    await bundles.act(client, cert_id, "request_resurvey", actor=bundles.RESIDENT,
                      comment="全壊のはずです")
    await bundles.survey(client, cert_id, 55)
    member = await _member(handle, SUPPORT, lambda m: m.application_id == second)
    assert (await eventually(lambda: _started(client, second))).data["damage_grade"] == "total"
    earlier = await _case(client, first)
    assert earlier.status == "in_progress" and earlier.amendments == 0  # open, not amended
    # The earlier filing ends: the bundle notes it, and the member stays the new one.
    await bundles.act(client, first, "withdraw", actor=bundles.RESIDENT)

    async def noted():
        view = await _view(handle)
        return view if any(e.event == "reported_superseded" for e in view.timeline) else None

    view = await eventually(noted)
    member = next(m for m in view.members if m.procedure == SUPPORT)
    assert member.application_id == second and member.status == "in_progress"
    assert member.filings == [first, second]


async def test_ignore_leaves_the_dependent_as_filed(bundle_stack, catalog):
    client = bundle_stack.client
    start = bundles.start_bundle(catalog, on_change="ignore", condolence=False)
    handle = await bundles.start(client, start, bundle_stack.task_queue)
    cert_id = member_application_id(start.bundle_id, CERT)
    support_id = member_application_id(start.bundle_id, SUPPORT)
    await eventually(lambda: _started(client, cert_id))
    await bundles.certify(client, cert_id, 45)
    await _member(handle, SUPPORT, lambda m: m.state == "filed")
    await bundles.act(client, cert_id, "request_resurvey", actor=bundles.RESIDENT,
                      comment="全壊のはずです")
    await bundles.survey(client, cert_id, 55)

    async def reissued():
        view = await _view(handle)
        cert = next(m for m in view.members if m.procedure == CERT)
        grade = cert.computed.get("damage_grade", {}).get("code")
        return view if grade == "total" and len(cert.documents) >= 3 else None

    view = await eventually(reissued)  # the bundle has the second certificate's report
    member = next(m for m in view.members if m.procedure == SUPPORT)
    assert member.filings == [support_id]
    case = await _case(client, support_id)
    assert case.amendments == 0 and case.data["damage_grade"] == "large_scale_half"
