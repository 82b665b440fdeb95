"""The declarative procedure definition (``procedure.json``) as pydantic models.

A municipality plugs a procedure in as data; the generic ``ProcedureWorkflow`` interprets
these models. The models are strict (unknown keys refused) so a typo in a catalogue file is
an error at load time, not a silent difference in a running case. The exact model instance
in force at submission is pinned into the workflow input, so later catalogue changes never
alter a case in progress.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

#: Where a case can end. The engine knows these; a procedure's actions lead to them.
Outcome = Literal["completed", "rejected"]

#: Events the engine emits; a procedure decides who hears of each (``notices``).
NoticeEvent = Literal[
    "submitted",
    "accepted",
    "correction_requested",
    "correction_submitted",
    "correction_expired",
    "withdrawn",
    "rejected",
    "issued",
    "deadline_reminder",
    "deadline_escalation",
    "stage_reminder",  # an applicant step (e.g. 実績報告) is due soon
    "stage_expired",  # an applicant step's deadline passed
    "resurvey_requested",
    "report_submitted",
    "payment_instruction",  # 支払指示: to the municipality's finance system
    "campaign_opened",
    "campaign_reminder",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedText(_Strict):
    """A user-facing text in Japanese (the legal text) and English."""

    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Computation(_Strict):
    """A value an action computes into the case's ``computed``, in one of two ways.

    *A named computation* from the registry (``function``), fed either one value of the
    action's input (``input``, a JSON pointer into it) or several named values
    (``inputs``: JSON pointers into the case document ``{"input", "application", "steps",
    "computed"}``), plus constant ``params`` (a rate, a cap).

    *Expressions* (:mod:`forms.expressions`): ``value`` is one expression whose result is
    the computed value; ``values`` names several, evaluated in order into an object, each
    seeing the keys before it as ``computed.<this name>.<key>``.
    """

    function: str | None = Field(
        default=None, description="Name in forms.computations' registry, e.g. damage_grade"
    )
    input: str | None = Field(
        default=None, description="JSON pointer into the action's input data, e.g. /damage_ratio"
    )
    inputs: dict[str, str] | None = Field(
        default=None, description="name -> JSON pointer into the case document"
    )
    params: dict[str, int | float | str | list[str]] = Field(default_factory=dict)
    value: str | None = Field(default=None, description="An expression: the computed value")
    values: dict[str, str] | None = Field(
        default=None, description="key -> expression: the computed value is an object"
    )

    @model_validator(mode="after")
    def _one_source(self) -> Computation:
        kinds = (self.function is not None) + (self.value is not None) + (self.values is not None)
        if kinds != 1:
            raise ValueError("a computation needs exactly one of 'function', 'value' or 'values'")
        if self.function is None:
            if self.input is not None or self.inputs is not None or self.params:
                raise ValueError(
                    "an expression computation takes no 'input', 'inputs' or 'params' (it "
                    "reads data, steps, computed and the procedure's params itself)"
                )
            if self.values is not None and not self.values:
                raise ValueError("'values' needs at least one key")
        elif (self.input is None) == (self.inputs is None):
            raise ValueError("a computation needs exactly one of 'input' or 'inputs'")
        return self

    @property
    def is_expression(self) -> bool:
        return self.function is None


class EligibilityRule(_Strict):
    """Who may file: ``rule`` is an expression that must be true, or the filing is refused
    with ``message`` at ``field`` (a JSON pointer into the form; ``""``: the whole form)."""

    rule: str = Field(min_length=1, description="An expression; false refuses the filing")
    field: str = Field(default="", pattern=r"^(/[^/]*)*$")
    message: LocalizedText


class Route(_Strict):
    """Where an action leads when ``when`` holds (an expression; it sees what the action
    has just computed), e.g. a grant above a threshold to a second approval stage."""

    when: str = Field(min_length=1, description="An expression; the first true route wins")
    to: str | None = Field(default=None, description="Next stage id")
    outcome: Outcome | None = Field(default=None, description="Ends the case this way")
    issue: list[str] = Field(
        default_factory=list,
        description="Documents issued on this route, in place of the action's 'issue'")
    notify: NoticeEvent | None = Field(
        default=None, description="Event emitted on this route, in place of the action's")

    @model_validator(mode="after")
    def _one_target(self) -> Route:
        if (self.to is not None) + (self.outcome is not None) != 1:
            raise ValueError("a route needs exactly one of 'to' or 'outcome'")
        return self


class ActionDefinition(_Strict):
    """One thing a caseworker may do in a stage.

    ``kind`` says how the engine treats it: ``transition`` moves the case (to another stage
    or to an outcome), ``request_correction`` pauses the legal clock and asks the applicant
    for amended data, ``claim`` assigns the case to the acting caseworker.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: LocalizedText
    kind: Literal["transition", "request_correction", "claim"] = "transition"
    to: str | None = Field(default=None, description="Next stage id")
    outcome: Outcome | None = Field(default=None, description="Ends the case this way")
    comment_required: bool = False
    input_schema: str | None = Field(
        default=None, description="File (in the procedure folder) with the JSON Schema of data"
    )
    compute: dict[str, Computation] = Field(default_factory=dict)
    correction_of: str | None = Field(
        default=None,
        description="request_correction: the applicant action whose data is to be corrected "
        "(default: the application form)",
    )
    notify: NoticeEvent | None = Field(default=None, description="Event emitted when taken")
    distinct_from: list[str] = Field(
        default_factory=list,
        description="Four-eyes: the actor must not be who performed these action ids",
    )
    distinct_message: LocalizedText | None = Field(
        default=None,
        description="What a caseworker refused by distinct_from reads (default: names the "
        "actions)",
    )
    routes: list[Route] = Field(
        default_factory=list,
        description="Conditional targets, tried in order before 'to'/'outcome' (the default)",
    )
    issue: list[str] = Field(
        default_factory=list, description="Document ids issued when this action is taken"
    )

    @model_validator(mode="after")
    def _target_matches_kind(self) -> ActionDefinition:
        leads = (self.to is not None) + (self.outcome is not None)
        if self.kind == "transition" and leads != 1:
            raise ValueError("a transition needs exactly one of 'to' or 'outcome'")
        if self.kind != "transition" and leads:
            raise ValueError(f"a '{self.kind}' action takes neither 'to' nor 'outcome'")
        if self.kind != "transition" and self.routes:
            raise ValueError(f"a '{self.kind}' action takes no 'routes'")
        return self


class StageDeadline(_Strict):
    """A deadline for one stage (e.g. 実績報告 within 60 days), counted from entering it."""

    days: int = Field(gt=0, le=3650)
    remind_before_days: list[int] = Field(default_factory=list)
    on_expiry: Literal["notify", "complete", "close"] = Field(
        default="notify",
        description="notify: tell the municipality; complete/close: end the case that way",
    )


class StageDefinition(_Strict):
    """A step of the procedure: worked by caseworkers holding ``role``, or by the applicant
    (``actor: applicant``, e.g. filing a performance report or asking for a re-survey)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: LocalizedText
    actor: Literal["caseworker", "applicant"] = "caseworker"
    role: str | None = None
    actions: list[ActionDefinition] = Field(min_length=1)
    deadline: StageDeadline | None = None
    withdrawable: bool = Field(default=True, description="May the applicant withdraw here?")

    @model_validator(mode="after")
    def _role_matches_actor(self) -> StageDefinition:
        if self.actor == "caseworker" and not self.role:
            raise ValueError(f"stage '{self.id}': a caseworker stage needs a 'role'")
        if self.actor == "applicant" and self.role:
            raise ValueError(f"stage '{self.id}': an applicant stage takes no 'role'")
        return self

    def action(self, action_id: str) -> ActionDefinition | None:
        return next((a for a in self.actions if a.id == action_id), None)


class ProcessingPeriod(_Strict):
    """標準処理期間: the legal clock, paused while a correction is pending."""

    days: int = Field(gt=0, le=3650)
    remind_before_days: int = Field(ge=0, description="Reminder to the municipality")


class CorrectionRules(_Strict):
    """補正: how long the applicant has to answer before the case closes."""

    deadline_days: int = Field(gt=0, le=365)


#: Whose filings a dedupe key keeps apart (see forms.dedupe).
DedupeScope = Literal["applicant", "subject", "household", "municipality"]
#: Where a case may end that frees its key, so the same thing can be filed again.
FreeingStatus = Literal["withdrawn", "rejected", "closed"]


class DedupeRule(_Strict):
    """What makes two applications the same: procedure, municipality, the ``scope``'s key
    and the values at ``fields``.

    ``scope``: ``applicant`` (one per signed-in applicant), ``subject`` (one per person the
    application is about: the represented person of a proxy filing, else the applicant),
    ``household`` (one per registered address of the verified sign-in: a spouse is refused
    too), ``municipality`` (one per the ``fields`` values, whoever files). ``normalize``
    compares texts after NFKC, case folding and without spaces (全角/半角, ｽﾍﾟｰｽ).
    ``free_on``: a case ending so frees the key (the resident may file again).
    """

    scope: DedupeScope = "applicant"
    fields: list[str] = Field(
        default_factory=list, description="JSON pointers into the form data, e.g. /disaster_event"
    )
    normalize: bool = False
    free_on: list[FreeingStatus] = Field(default_factory=list)

    @model_validator(mode="after")
    def _municipality_needs_fields(self) -> DedupeRule:
        if self.scope == "municipality" and not self.fields:
            raise ValueError("dedupe scope 'municipality' needs 'fields' (else one filing, ever)")
        return self


#: ``name -> expression``: values a notice, webhook or document carries out of the case.
Include = dict[str, str]


class DocumentNumbering(_Strict):
    """The municipal numbering of a document (第 千代田-罹-2026-000123 号): the issuing
    municipality's short name, ``series``, the year of issue in Japan time and a serial
    counted per municipality, series and year, allocated once per document."""

    series: str = Field(min_length=1, max_length=8, pattern=r"^[^\s/\\-]+$",
                        description="The document's mark in the number, e.g. 罹")
    digits: int = Field(default=6, ge=3, le=9, description="Zero-padded serial width")


class PublicValue(_Strict):
    """A certified value the public verify page shows beside the register entry, so a
    holder of a paper copy can compare it. Only what is listed here (masked as said)
    reaches the register: it must not identify a person beyond the masked holder."""

    label: LocalizedText
    value: str = Field(
        pattern=r"^(/[^/]+)+$",
        description="JSON pointer into the document's context, e.g. /computed/damage_grade: "
        "a {ja, en} object, a string or a number",
    )
    mask: Literal["none", "address", "name"] = Field(
        default="none",
        description="address: prefecture and city only; name: the family name only",
    )
    format: Literal["text", "yen", "wareki"] = "text"


class DocumentDefinition(_Strict):
    """A document the procedure issues, rendered from a template in its folder."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: LocalizedText
    template: str
    filename: str = Field(pattern=r"^[A-Za-z0-9._-]+\.pdf$")
    include: Include = Field(
        default_factory=dict, description="Values the template reads as values.<name>")
    numbering: DocumentNumbering | None = Field(
        default=None, description="Municipal numbering; none for e.g. a 申請控え")
    legal_basis: LocalizedText | None = Field(
        default=None, description="The provision the document is issued under, as printed")
    guidance: list[LocalizedText] = Field(
        default_factory=list,
        description="Notes printed on the document: how to ask for a re-survey, to appeal")
    public: list[PublicValue] = Field(
        default_factory=list, description="Certified values shown on the public verify page")


class NoticeRule(_Strict):
    """Who hears of an event, through which channels, and which case values it carries
    (``include``: in the texts as ``{name}``, in a webhook body under ``values``)."""

    to: Literal["applicant", "municipality"]
    channels: list[Literal["inbox", "email", "push", "webhook"]] = Field(
        default_factory=lambda: ["inbox"]
    )
    include: Include = Field(default_factory=dict)


class AssuranceRule(_Strict):
    """How strongly the applicant must be identified (the token's ``acr``), e.g. a My
    Number card login for a certificate; ``message`` tells a resident what to use instead."""

    accepted: list[str] = Field(min_length=1, description="acr values accepted")
    message: LocalizedText


class CampaignRule(_Strict):
    """An annual campaign (e.g. 現況届): filings are accepted only while the municipality's
    campaign for the period named by ``period_field`` is open; non-filers are reminded."""

    period_field: str = Field(description="JSON pointer to the period in the form, /fiscal_year")
    remind_before_days: list[int] = Field(default_factory=lambda: [14, 3])


class RetentionRule(_Strict):
    """How long a finished case's data is kept (文書の保存期間), counted from its end.

    Then its notices and documents' files are deleted; the register of issued documents
    (number, hash, status: no personal data) is kept so a document stays checkable."""

    days: int = Field(gt=0, le=36500)


class RevocationRule(_Strict):
    """Who may revoke a document this procedure issued: a caseworker of the issuing
    municipality with ``role`` asks, with a reason, and a second one with the role confirms
    (four eyes); both steps are in the case's timeline."""

    role: str = Field(default="approver", pattern=r"^[a-z][a-z0-9_-]*$")


#: Actions of the applicant, the same in every procedure: a stage cannot declare them.
RESERVED_ACTION_IDS: frozenset[str] = frozenset({"submit_correction", "withdraw"})


class ProcedureDefinition(_Strict):
    """The whole declarative definition of one procedure version."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    title: LocalizedText
    applicant: Literal["resident", "business", "any"] = "resident"
    assurance: AssuranceRule | None = None
    campaign: CampaignRule | None = None
    retention: RetentionRule | None = None
    form: str = "form.schema.json"
    dedupe: DedupeRule = DedupeRule()
    params: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Constants expressions read as params.<name> (a unit amount, a cap, "
        "a table); a municipality's overlay may change their values",
    )
    eligibility: list[EligibilityRule] = Field(
        default_factory=list, description="Rules a filing must meet (refused otherwise)"
    )
    processing_period: ProcessingPeriod
    correction: CorrectionRules
    stages: list[StageDefinition] = Field(min_length=1)
    documents: list[DocumentDefinition] = Field(default_factory=list)
    issue_on_submit: list[str] = Field(
        default_factory=list,
        description="Document ids issued as soon as the application is filed, and again "
        "after each correction: e.g. the 申請控え, a sealed and timestamped copy of what was "
        "filed and when. The 'submitted' notice goes out once they are issued.",
    )
    notices: dict[NoticeEvent, NoticeRule] = Field(default_factory=dict)
    revocation: RevocationRule = Field(
        default_factory=RevocationRule,
        description="Who may revoke an issued document (two people of this role)")

    @property
    def initial_stage(self) -> str:
        return self.stages[0].id

    def stage(self, stage_id: str) -> StageDefinition | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def document(self, document_id: str) -> DocumentDefinition | None:
        return next((d for d in self.documents if d.id == document_id), None)

    @model_validator(mode="after")
    def _references_resolve(self) -> ProcedureDefinition:
        stage_ids = [s.id for s in self.stages]
        if len(set(stage_ids)) != len(stage_ids):
            raise ValueError("stage ids must be unique")
        doc_ids = {d.id for d in self.documents}
        for stage in self.stages:
            action_ids = [a.id for a in stage.actions]
            if len(set(action_ids)) != len(action_ids):
                raise ValueError(f"stage '{stage.id}': action ids must be unique")
            for action in stage.actions:
                where = f"stage '{stage.id}', action '{action.id}'"
                if action.id in RESERVED_ACTION_IDS:
                    raise ValueError(f"{where}: '{action.id}' is reserved for the applicant")
                for target in [action.to, *(r.to for r in action.routes)]:
                    if target is not None and target not in stage_ids:
                        raise ValueError(f"{where}: 'to' names unknown stage '{target}'")
                if action.correction_of is not None and not any(
                    a.id == action.correction_of for st in self.stages for a in st.actions
                ):
                    raise ValueError(f"{where}: 'correction_of' names unknown action")
                for doc in [*action.issue, *(d for r in action.routes for d in r.issue)]:
                    if doc not in doc_ids:
                        raise ValueError(f"{where}: 'issue' names unknown document '{doc}'")
                    if doc in self.issue_on_submit:
                        raise ValueError(
                            f"{where}: '{doc}' is issued on submission; an action cannot "
                            "issue it too"
                        )
        for doc in self.issue_on_submit:
            if doc not in doc_ids:
                raise ValueError(f"'issue_on_submit' names unknown document '{doc}'")
        if len(set(self.issue_on_submit)) != len(self.issue_on_submit):
            raise ValueError("'issue_on_submit' names a document twice")
        return self
