"""The declarative life-event definition (``life-event.json``) as pydantic models.

A life event (被災した, 子どもが生まれた) is one questionnaire answered once and the
procedures that follow from it, each with an eligibility expression, a mapping from the
shared answers (and what the municipality already knows) into that procedure's form, and
optionally a dependency on another procedure's outcome. Like a procedure it is data only,
in ``forms/catalog/life-events/<id>/`` (or ``<id>@<version>/``), pinned whole into the
bundle's workflow at submission.

Expressions (CEL, :mod:`forms.expressions`) in a life event see:

``data``       the shared questionnaire's answers
``applicant``  the verified sign-in's claims (kind, birthdate, address, name_kana, ...)
``household``  the resident registry's household: ``{"verified", "size", "members",
               "deceased"}`` (``verified`` false when the registry could not be read and the
               resident typed the data; ``deceased``: members who died, with ``died_on``)
``account``    the public-funds account (公金受取口座) or ``null``
``events``     the municipality's disaster events by id
``params``     the life event's ``params`` (an overlay may change them)
``today``      the date in Japan, passed in
``case``       in a dependent procedure's ``when`` and ``form`` only: the upstream case as
               reported (``{"status", "data", "steps", "computed", "documents"}``)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from forms.definition import DedupeRule, LocalizedText

__all__ = [
    "Dependency",
    "LedgerColumns",
    "LedgerValue",
    "LifeEventDefinition",
    "OfferedProcedure",
    "PrefillRule",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: Where a prefilled questionnaire value comes from (shown to the resident beside it).
PrefillSource = Literal["card", "registry", "account"]


class PrefillRule(_Strict):
    """One questionnaire value filled before the resident sees it.

    ``value`` is an expression over ``applicant`` (source ``card``: the card's four basic
    facts, 券面事項入力補助), ``household`` (``registry``) or ``account`` (``account``).
    A value the resident changes is kept as *declared*, not verified.
    """

    source: PrefillSource
    value: str = Field(min_length=1, description="An expression giving the value")


class Dependency(_Strict):
    """Start this procedure only when ``procedure`` (of the same bundle) reaches ``on``.

    ``on`` is ``document:<id>`` (the upstream case issued that document, e.g. the
    罹災証明書's ``certificate``) or an outcome (``completed``, ``rejected``). ``when`` is an
    expression over ``case`` (and the rest of the environment): false means the procedure is
    not filed, and the resident is told ``not_filed``. ``on_change`` says what a later
    report of the upstream case that changes this procedure's mapped form does: ``amend``
    (the open dependent case takes the new values and goes back to its first stage; a
    decided one gets a new filing: a new decision), ``refile`` (always a new filing) or
    ``ignore``.
    """

    procedure: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    on: str = Field(pattern=r"^(document:[a-z][a-z0-9_-]*|completed|rejected)$")
    when: str = Field(default="true", min_length=1)
    not_filed: LocalizedText
    on_change: Literal["amend", "refile", "ignore"] = "amend"


class OfferedProcedure(_Strict):
    """A procedure the life event offers, when it applies and how its form is filled."""

    procedure: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    eligible: str = Field(default="true", min_length=1,
                          description="An expression: does this procedure apply?")
    reason: LocalizedText = Field(description="Why it applies (shown when eligible)")
    not_eligible: LocalizedText = Field(description="Why it does not (shown otherwise)")
    selected: bool = Field(default=True, description="Ticked by default when eligible")
    required: bool = Field(default=False, description="Cannot be unticked (e.g. the 罹災証明書)")
    form: dict[str, str] = Field(
        description="JSON pointer into the procedure's form -> expression giving its value "
        "(a null result leaves the field out)")
    after: Dependency | None = None


class LedgerValue(_Strict):
    """A value of the 被災者台帳 read from one member's case: ``value`` is an expression
    over ``case`` (the member's case as last reported) and the rest of the environment."""

    procedure: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    value: str = Field(min_length=1)


class LedgerColumns(_Strict):
    """How the 被災者台帳 (one row per household of a disaster event) reads a bundle.

    ``address`` and ``household_size`` are expressions over the bundle's answers and
    household; ``grade`` gives the damage grade (a code, or ``{"code", "ja", "en"}``);
    each of ``amounts`` gives an amount in yen decided by a member's case (null: none).
    """

    address: str | None = None
    household_size: str | None = None
    grade: LedgerValue | None = None
    amounts: list[LedgerValue] = Field(default_factory=list)


class LifeEventDefinition(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    title: LocalizedText
    summary: LocalizedText
    questionnaire: str = "questionnaire.schema.json"
    dedupe: DedupeRule = Field(
        default_factory=lambda: DedupeRule(scope="household"),
        description="One bundle per this key (household: the registry's household id)")
    event_field: str | None = Field(
        default=None, pattern=r"^(/[^/]+)+$",
        description="JSON pointer to the answer naming the municipality's event (a disaster "
        "event id), indexed for the 被災者台帳; never a personal value")
    params: dict[str, JsonValue] = Field(default_factory=dict)
    prefill: dict[str, PrefillRule] = Field(
        default_factory=dict, description="JSON pointer into the questionnaire -> its source")
    procedures: list[OfferedProcedure] = Field(min_length=1)
    ledger: LedgerColumns | None = Field(
        default=None, description="The 被災者台帳's columns (disaster life events)")

    def offered(self, procedure_id: str) -> OfferedProcedure | None:
        return next((p for p in self.procedures if p.procedure == procedure_id), None)

    @model_validator(mode="after")
    def _references_resolve(self) -> LifeEventDefinition:
        ids = [p.procedure for p in self.procedures]
        if len(set(ids)) != len(ids):
            raise ValueError("each procedure may be offered once")
        order = {pid: i for i, pid in enumerate(ids)}
        for offered in self.procedures:
            if offered.after is None:
                continue
            upstream = offered.after.procedure
            if upstream not in order:
                raise ValueError(f"'{offered.procedure}' depends on '{upstream}', which this "
                                 "life event does not offer")
            if order[upstream] >= order[offered.procedure]:
                raise ValueError(f"'{offered.procedure}' must come after '{upstream}', "
                                 "which it depends on")
        ledger = self.ledger
        named = ([ledger.grade] if ledger and ledger.grade else []) + (
            list(ledger.amounts) if ledger else [])
        for value in named:
            if value.procedure not in order:
                raise ValueError(f"the ledger reads '{value.procedure}', which this life "
                                 "event does not offer")
        return self
