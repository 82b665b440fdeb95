"""Assurance per procedure: is this sign-in strong enough for what is being filed?

A procedure definition may carry an :class:`forms.definition.AssuranceRule`: the ``acr``
values it accepts and a message (ja/en) telling the resident what to sign in with
instead, e.g. "この手続きにはマイナンバーカードでのログインが必要です". An entry of
``accepted`` is either

* an exact ``acr`` value (``urn:example:acr:jpki-card``), or
* ``level:<low|substantial|high>`` — any ``acr`` that the issuer's configuration
  (``acr_levels``) maps to that level or higher, so a catalogue entry need not know
  every issuer's ``acr`` spelling, or
* ``in_person`` — the resident's identity checked by staff at a counter (a counter
  session, :mod:`identity.counter`). Only this entry accepts a counter check: ``level:``
  entries never do, so a procedure that says nothing of counters is not opened to them.

A caseworker never files, so has no sign-in method a rule could accept: a rule refuses
them (the case service refuses them earlier anyway).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from identity.counter import COUNTER_ISSUER, IN_PERSON
from identity.errors import AssuranceTooLow
from identity.issuers import ASSURANCE_ORDER, AssuranceLevel
from identity.principals import Business, Caseworker, Resident

if TYPE_CHECKING:
    from forms.definition import AssuranceRule

__all__ = ["AssuranceTooLow", "check_assurance", "meets_level"]

_LEVEL_PREFIX = "level:"


def meets_level(level: AssuranceLevel, required: str) -> bool:
    """Whether ``level`` is at least ``required`` (``low`` < ``substantial`` < ``high``).

    :raises ValueError: if ``required`` is not a level name.
    """
    if required not in ASSURANCE_ORDER:
        raise ValueError(f"unknown assurance level {required!r}")
    return ASSURANCE_ORDER[level] >= ASSURANCE_ORDER[required]


def check_assurance(
    rule: AssuranceRule | None, principal: Resident | Business | Caseworker
) -> None:
    """Refuse ``principal`` if its sign-in does not satisfy the procedure's ``rule``.

    :param rule: the procedure's ``assurance`` (``None``: any verified sign-in will do).
    :param principal: who is filing.
    :raises AssuranceTooLow: carrying the rule's message; the portal answers 403.
    :raises ValueError: if the rule names an unknown level (a catalogue error).
    """
    if rule is None:
        return
    message = {"ja": rule.message.ja, "en": rule.message.en}
    required = tuple(rule.accepted)
    if isinstance(principal, Caseworker):
        raise AssuranceTooLow(
            message, "caseworkers have no resident sign-in method", required=required
        )
    if principal.issuer == COUNTER_ISSUER:
        if IN_PERSON in rule.accepted:
            return
        raise AssuranceTooLow(message, "an in-person check is not accepted", required=required)
    for accepted in rule.accepted:
        if accepted == IN_PERSON:
            continue
        if accepted.startswith(_LEVEL_PREFIX):
            if meets_level(principal.assurance_level, accepted.removeprefix(_LEVEL_PREFIX)):
                return
        elif accepted == principal.assurance:
            return
    raise AssuranceTooLow(
        message, f"acr at level {principal.assurance_level} not accepted", required=required
    )
