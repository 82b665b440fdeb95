"""Who may do what to a case, now: pure functions shared by the workflow's update
validators and the portal (which shows the caller the actions they may take).

Keeping the rule in one place means the button a caseworker sees and the refusal the
workflow gives can never disagree.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from forms.definition import (
    RESERVED_ACTION_IDS,
    ActionDefinition,
    LocalizedText,
    ProcedureDefinition,
)
from workflows.models import TERMINAL, ActionRequest, Actor, ApplicationView, RevocationRequest

#: Actions of the applicant, the same for every procedure.
APPLICANT_ACTIONS: frozenset[str] = RESERVED_ACTION_IDS


#: What kind of refusal: the caller may not (``forbidden``), not now (``conflict``), or
#: not with this input (``invalid``). The application layer's vocabulary (services.refusals)
#: has more kinds; a workflow only ever needs these three.
RefusalKind = Literal["forbidden", "conflict", "invalid"]


class Refusal(BaseModel):
    """Why an action is refused, for the caller: a stable ``code``, its ``kind``, and texts."""

    code: str
    kind: RefusalKind
    message: dict[str, str]


def _refuse(code: str, kind: RefusalKind, ja: str, en: str) -> Refusal:
    return Refusal(code=code, kind=kind, message={"ja": ja, "en": en})


def is_applicant(view: ApplicationView, actor: Actor) -> bool:
    return actor.kind != "caseworker" and actor.applicant_key == view.applicant_key


def is_caseworker_of(view: ApplicationView, actor: Actor) -> bool:
    return actor.kind == "caseworker" and view.municipality in actor.municipalities


def check_action(
    definition: ProcedureDefinition, view: ApplicationView, request: ActionRequest
) -> Refusal | None:
    """None when ``request`` may be carried out now, else the reason it may not."""
    actor, name = request.actor, request.action
    if name in APPLICANT_ACTIONS:
        return _check_applicant_action(definition, view, request)
    stage = definition.stage(view.stage)
    if stage is not None and stage.actor == "applicant":
        return _check_applicant_stage_action(definition, view, request)
    refusal = _outsider_refusal(view, actor)
    if refusal is not None:
        return refusal
    if view.status in TERMINAL:
        return _refuse("case_closed", "conflict", "この申請の手続きは終了しています。",
                       "This application is already closed.")
    if view.status == "awaiting_correction":
        return _refuse("awaiting_correction", "conflict", "申請者の補正を待っています。",
                       "The applicant has been asked for a correction; wait for it.")
    if view.status == "issuing":
        return _refuse("issuing", "conflict", "決定済みで、書類を発行しています。",
                       "The decision is made; documents are being issued.")
    stage = definition.stage(view.stage)
    action = stage.action(name) if stage else None
    if stage is None or action is None:
        return _refuse("not_available", "conflict", "この段階ではその操作はできません。",
                       f"'{name}' is not possible at the '{view.stage}' stage.")
    if stage.role not in actor.roles:
        return _refuse("role_required", "forbidden",
                       f"「{stage.title.ja}」の操作には「{stage.role}」の権限が必要です。",
                       f"'{stage.title.en}' needs the '{stage.role}' role.")
    return _check_action_input(definition, view, action, request)


def _outsider_refusal(view: ApplicationView, actor: Actor) -> Refusal | None:
    """Refuses anyone but a caseworker of the case's municipality (checked before any state,
    so another municipality learns nothing of the case)."""
    if actor.kind != "caseworker":
        return _refuse("caseworker_only", "forbidden", "この操作は担当職員のみ行えます。",
                       "Only a caseworker can do this.")
    if not is_caseworker_of(view, actor):
        return _refuse("wrong_municipality", "forbidden", "この申請は別の自治体の担当です。",
                       "This application belongs to another municipality.")
    return None


def _applicant_refusal(view: ApplicationView, request: ActionRequest) -> Refusal | None:
    if not is_applicant(view, request.actor):
        return _refuse("applicant_only", "forbidden", "この操作は申請者本人のみ行えます。",
                       "Only the applicant can do this.")
    if view.status in TERMINAL:
        return _refuse("case_closed", "conflict", "この申請の手続きは終了しています。",
                       "This application is already closed.")
    return None


def _check_applicant_stage_action(
    definition: ProcedureDefinition, view: ApplicationView, request: ActionRequest
) -> Refusal | None:
    refusal = _applicant_refusal(view, request)
    if refusal is not None:
        return refusal
    if view.status != "awaiting_applicant":
        return _refuse("not_available", "conflict", "いまはこの操作はできません。",
                       "This is not possible now.")
    stage = definition.stage(view.stage)
    action = stage.action(request.action) if stage else None
    if action is None:
        return _refuse("not_available", "conflict", "この段階ではその操作はできません。",
                       f"'{request.action}' is not possible at the '{view.stage}' stage.")
    return _check_action_input(definition, view, action, request)


def _check_applicant_action(
    definition: ProcedureDefinition, view: ApplicationView, request: ActionRequest
) -> Refusal | None:
    refusal = _applicant_refusal(view, request)
    if refusal is not None:
        return refusal
    if request.action == "withdraw":
        if view.status == "issuing":
            return _refuse("issuing", "conflict", "すでに決定され、書類を発行しています。",
                           "The decision is made; documents are being issued.")
        stage = definition.stage(view.stage)
        if stage is not None and not stage.withdrawable:
            return _refuse("not_withdrawable", "conflict", "この段階では取り下げできません。",
                           "The application can no longer be withdrawn.")
    if request.action == "submit_correction":
        if view.status != "awaiting_correction":
            return _refuse("no_correction_requested", "conflict", "補正は求められていません。",
                           "No correction has been requested.")
        if not request.data:
            return _refuse("data_required", "invalid", "補正後の申請内容を入力してください。",
                           "Send the corrected application data.")
    return None


def _check_action_input(
    definition: ProcedureDefinition, view: ApplicationView, action: ActionDefinition,
    request: ActionRequest,
) -> Refusal | None:
    if action.comment_required and not (request.comment and request.comment.strip()):
        return _refuse("comment_required", "invalid", "理由（コメント）を入力してください。",
                       "Give a reason in the comment.")
    if action.input_schema and request.data is None:
        return _refuse("data_required", "invalid", "入力項目を入力してください。",
                       "This action needs its input data.")
    for earlier in action.distinct_from:
        if view.actors.get(earlier) == request.actor.subject:
            if action.distinct_message is not None:
                text = action.distinct_message
                return _refuse("four_eyes", "forbidden", text.ja, text.en)
            done = _action_title(definition, earlier)
            return _refuse("four_eyes", "forbidden",
                           f"「{done.ja}」を行った職員とは別の職員が「{action.title.ja}」を"
                           "行ってください（二者確認）。",
                           f"Four-eyes rule: a caseworker other than the one who did "
                           f"'{done.en}' must do '{action.title.en}'.")
    if (action.distinct_from and view.counter is not None
            and view.counter.staff_subject == request.actor.subject):
        # The staff member who filed at the counter is an actor of the case from its start.
        return _refuse("four_eyes", "forbidden",
                       f"窓口で申請を受け付けた職員とは別の職員が「{action.title.ja}」を"
                       "行ってください（二者確認）。",
                       f"Four-eyes rule: a caseworker other than the one who filed this at "
                       f"the counter must do '{action.title.en}'.")
    return None


def _action_title(definition: ProcedureDefinition, action_id: str) -> LocalizedText:
    for stage in definition.stages:
        found = stage.action(action_id)
        if found is not None:
            return found.title
    return LocalizedText(ja=action_id, en=action_id)


def available_actions(
    definition: ProcedureDefinition, view: ApplicationView, actor: Actor
) -> list[str]:
    """The action ids ``actor`` could take now (ignoring comment and data they must add)."""
    candidates = list(APPLICANT_ACTIONS)
    stage = definition.stage(view.stage)
    if stage is not None:
        # Not the claim of a case the caseworker holds already: the pages would offer it.
        candidates += [a.id for a in stage.actions
                       if not (a.kind == "claim" and view.assignee == actor.subject)]
    allowed = []
    for name in candidates:
        probe = ActionRequest(action=name, actor=actor, comment="-", data={"-": "-"})
        if check_action(definition, view, probe) is None:
            allowed.append(name)
    return sorted(allowed)


def check_revocation(
    definition: ProcedureDefinition, view: ApplicationView, request: RevocationRequest
) -> Refusal | None:
    """None when ``request`` (asking for, or confirming, a revocation) may be carried out.

    A caseworker of the case's municipality with the procedure's revocation role asks, with
    a reason; a second one with the role confirms: never the one who asked (four eyes).
    """
    actor = request.actor
    refusal = _outsider_refusal(view, actor)
    if refusal is not None:
        return refusal
    role = definition.revocation.role
    if role not in actor.roles:
        return _refuse("role_required", "forbidden",
                       f"書類の取消しには「{role}」の権限が必要です。",
                       f"Revoking a document needs the '{role}' role.")
    document = next((d for d in view.documents if d.id == request.document_id), None)
    if document is None:
        return _refuse("unknown_document", "invalid", "この申請の書類ではありません。",
                       "This case did not issue that document.")
    found = next((r for r in view.revocations if r.document_id == request.document_id), None)
    if found is not None and found.confirmed_by is not None:
        return _refuse("already_revoked", "conflict", "この書類はすでに取り消されています。",
                       "This document is already revoked.")
    if not request.confirm:
        if document.type in definition.issue_on_submit:
            # The resident's proof of what was filed and when: a correction replaces it
            # (superseded); it is never revoked.
            return _refuse("copy_not_revocable", "conflict",
                           "申請控えは取り消せません（補正のときに差し替わります）。",
                           "A copy of the filing cannot be revoked (a correction replaces it).")
        if found is not None:
            return _refuse("revocation_pending", "conflict",
                           "この書類の取消しは、すでに別の職員の確認を待っています。",
                           "A revocation of this document is already waiting for a second "
                           "caseworker.")
        if not (request.reason and request.reason.strip()):
            return _refuse("reason_required", "invalid", "取消しの理由を入力してください。",
                           "Give the reason for the revocation.")
        return None
    if found is None:
        return _refuse("no_revocation_requested", "conflict",
                       "この書類の取消しは求められていません。",
                       "No revocation of this document has been asked for.")
    if found.requested_by == actor.subject:
        return _refuse("four_eyes", "forbidden",
                       "取消しを求めた職員とは別の職員が確認してください（二者確認）。",
                       "Four-eyes rule: a caseworker other than the one who asked must "
                       "confirm.")
    return None
