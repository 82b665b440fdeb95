"""Departments (担当課) and their queues: which procedures each department works.

A procedure's department is the ``contact`` of the municipality's overlay of it
(:meth:`forms.municipalities.Municipality.contact_for`), named by the contact's ``id``; a
procedure without one belongs to the municipality's default contact (its ``id`` or none).
Search attributes carry no department (there are few of them, and a department is the
municipality's choice that may change): a department's queue is the list of its procedures.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from forms.definition import LocalizedText
from identity.principals import Caseworker
from services.catalogue import CatalogueService
from services.refusals import Refused

__all__ = ["Department", "DepartmentScope", "departments", "departments_for", "scope_of"]

#: ``(municipality, procedures)`` pairs: per municipality, the procedures a queue shows.
DepartmentScope = tuple[tuple[str, tuple[str, ...]], ...]


class Department(BaseModel):
    """One department of a municipality and the procedures routed to its queue."""

    id: str
    title: LocalizedText
    procedures: list[str]


def departments(catalogue: CatalogueService, municipality: str) -> list[Department]:
    """The departments of ``municipality`` that work at least one current procedure.

    :raises Refused: ``not_found`` for a municipality this installation does not serve.
    """
    served = catalogue.municipality(municipality)
    found: dict[str, Department] = {}
    for procedure in catalogue.latest(municipality):
        contact = served.contact_for(procedure)
        if contact is None or contact.id is None:
            continue
        entry = found.setdefault(contact.id, Department(id=contact.id, title=contact.department,
                                                        procedures=[]))
        entry.procedures.append(procedure.id)
    return [found[key] for key in sorted(found)]


def departments_for(caseworker: Caseworker, catalogue: CatalogueService,
                    municipality: str) -> list[Department]:
    """:func:`departments` for a caseworker of that municipality (a department's caseworker
    sees their own departments only).

    :raises Refused: ``forbidden`` for another municipality's caseworker, ``not_found`` for
        a municipality this installation does not serve.
    """
    if not caseworker.can_act_for(municipality):
        raise Refused("forbidden", "not_your_municipality",
                      "この自治体の担当課は見られません。",
                      "You do not act for this municipality.")
    listed = departments(catalogue, municipality)
    if caseworker.departments:
        listed = [d for d in listed if d.id in caseworker.departments]
    return listed


def scope_of(catalogue: CatalogueService, municipalities: Iterable[str],
             wanted: Iterable[str]) -> DepartmentScope:
    """Per municipality, the procedures of the ``wanted`` departments (none: an empty
    tuple, so the queue shows nothing there rather than everything)."""
    names = set(wanted)
    scope = []
    for code in sorted(set(municipalities)):
        try:
            listed = departments(catalogue, code)
        except Refused:  # a code the caseworker holds but this installation does not serve
            listed = []
        procedures = sorted({p for d in listed if d.id in names for p in d.procedures})
        scope.append((code, tuple(procedures)))
    return tuple(scope)
